-- macros: scalar helpers shared by the SQL files. Not a table. A field arrives as w, its
-- raw JSON text (NULL when absent or JSON null): '"..."' for a string, digits for a
-- number, '{', '[', 't' or 'f' for an object, array or boolean. CSV and Parquet records are
-- rendered to JSON first, so one set of rules judges every format; numbers written as
-- strings (CSV has no types) are accepted.

-- A string or number as text: JSON strings unquoted, numbers as written.
CREATE OR REPLACE TEMP MACRO json_text(w) AS
    CASE WHEN left(w::VARCHAR, 1) = '"' THEN w ->> '$' ELSE w::VARCHAR END;

-- Objects, arrays and booleans are the wrong type for every field of the contract.
CREATE OR REPLACE TEMP MACRO json_scalar(w) AS
    w IS NULL OR left(w::VARCHAR, 1) NOT IN ('{', '[', 't', 'f');

-- A whole number: an integer, an integral float or such a string; 12.5 is not one.
CREATE OR REPLACE TEMP MACRO to_int(x) AS
    CASE WHEN isfinite(try_cast(x AS DOUBLE)) AND abs(try_cast(x AS DOUBLE)) < 9e15
        AND try_cast(x AS DOUBLE) = floor(try_cast(x AS DOUBLE))
        THEN try_cast(x AS DOUBLE)::BIGINT END;

CREATE OR REPLACE TEMP MACRO to_float(x) AS
    CASE WHEN isfinite(try_cast(x AS DOUBLE)) THEN try_cast(x AS DOUBLE) END;

-- ts: epoch milliseconds (a number or a string of digits) in the range of a timestamp (a
-- nanosecond epoch is not, and is the wrong type, not an error), or RFC 3339 with a time and an
-- explicit offset. A wall-clock time without an offset is ambiguous and so the wrong type.
-- RFC 3339's ranges hold (hour 00-23, offset at most 23:59: '24:00:00' and '+99:00' are the
-- wrong type); 't' and 'z' may be lower case; a leap second (:60) is the last microsecond
-- of its minute, so it stays on its day.
CREATE OR REPLACE TEMP MACRO to_ts(x) AS
    CASE
        WHEN try_cast(x AS BIGINT) IS NOT NULL AND NOT contains(x, '.')
            THEN try(epoch_ms(try_cast(x AS BIGINT))::TIMESTAMPTZ)
        WHEN regexp_full_match(upper(trim(x)),
                '\d{4}-\d\d-\d\d[T ]([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d+)?)?\s*'
                || '(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)')
            THEN try_cast(regexp_replace(upper(trim(x)), ':60(\.\d+)?', ':59.999999')
                          AS TIMESTAMPTZ)
    END;

-- An optional string: empty and blank values mean absent.
CREATE OR REPLACE TEMP MACRO opt_text(v) AS nullif(trim(v), '');

CREATE OR REPLACE TEMP MACRO is_ipv4(ip) AS
    regexp_full_match(ip, '((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)');

CREATE OR REPLACE TEMP MACRO is_ipv6(ip) AS
    regexp_full_match(lower(ip), '[0-9a-f:]{2,39}')
    AND NOT regexp_matches(lower(ip), '[0-9a-f]{5}|:::')
    AND len(string_split(lower(ip), '::')) <= 2
    AND (
        (strpos(ip, '::') > 0 AND len(string_split(ip, ':')) <= 9)
        OR (strpos(ip, '::') = 0 AND len(string_split(ip, ':')) = 8)
    );

-- The first three 16-bit groups of an IPv6 address with '::' expanded, so that every
-- spelling of one /48 gives the same prefix text.
CREATE OR REPLACE TEMP MACRO ipv6_groups(ip) AS
    list_transform(
        CASE
            WHEN strpos(ip, '::') = 0 THEN string_split(ip, ':')
            ELSE list_concat(
                list_filter(string_split(string_split(ip, '::')[1], ':'), lambda g: g <> ''),
                list_transform(
                    range(
                        8 - len(list_filter(string_split(string_split(ip, '::')[1], ':'), lambda g: g <> ''))
                          - len(list_filter(string_split(string_split(ip, '::')[2], ':'), lambda g: g <> ''))
                    ),
                    lambda i: '0'
                ),
                list_filter(string_split(string_split(ip, '::')[2], ':'), lambda g: g <> '')
            )
        END[1:3],
        lambda g: coalesce(nullif(ltrim(lower(g), '0'), ''), '0')
    );

-- The network an address belongs to: /24 for IPv4, /48 for IPv6.
CREATE OR REPLACE TEMP MACRO ip_prefix(ip) AS
    CASE
        WHEN is_ipv4(ip) THEN regexp_extract(ip, '^(\d+\.\d+\.\d+)\.', 1) || '.0/24'
        WHEN is_ipv6(ip) THEN array_to_string(ipv6_groups(lower(ip)), ':') || '::/48'
    END;

-- Adapters (sql/adapt_*.sql). A JSON value that a log may hold either as JSON or as JSON
-- text inside a string (a CSV export, a Postgres json column read as text): the JSON
-- either way; a string that is not JSON is NULL.
CREATE OR REPLACE TEMP MACRO json_doc(w) AS
    CASE WHEN json_type(w) = 'VARCHAR' THEN try(json(w ->> '$')) ELSE w END;

-- A wall-clock time without an offset from a log whose times are UTC by construction
-- (LiteLLM's Prisma columns are timestamp(3) without time zone, written in UTC): given
-- its offset, so that to_ts reads it; any other value unchanged, for to_ts to judge.
CREATE OR REPLACE TEMP MACRO naive_utc(x) AS
    CASE WHEN regexp_full_match(trim(x), '\d{4}-\d\d-\d\d[Tt ][0-9:.]+')
        THEN trim(x) || 'Z' ELSE x END;

-- A source record's text as JSON when it is a JSON object, else NULL (the adapters pass
-- such a record on unchanged, for ingest_records to name its fault).
CREATE OR REPLACE TEMP MACRO json_record(text) AS
    CASE WHEN regexp_matches(text, '^\s*\{') THEN try(json(text)) END;

-- The first message of a chat message list (JSON) whose role is one of roles; NULL when
-- the list is absent or not a list (a LiteLLM row that did not store prompts).
CREATE OR REPLACE TEMP MACRO first_message(messages, roles) AS
    list_filter(CASE WHEN json_type(messages) = 'ARRAY' THEN json_extract(messages, '$[*]') END,
                lambda m: list_contains(roles, m ->> 'role'))[1];

-- An OpenAI-style finish_reason in the contract's (Anthropic) words, so that max_tokens
-- saturation reads one vocabulary; a reason with no counterpart is kept as it is.
CREATE OR REPLACE TEMP MACRO contract_stop_reason(r) AS
    CASE r WHEN 'stop' THEN 'end_turn' WHEN 'length' THEN 'max_tokens'
        WHEN 'tool_calls' THEN 'tool_use' WHEN 'function_call' THEN 'tool_use'
        WHEN 'content_filter' THEN 'refusal' ELSE r END;

-- The text of a chat message's content: a string as it is, an array of content parts as
-- its JSON text (the contract keeps a structured first turn as JSON text).
CREATE OR REPLACE TEMP MACRO message_text(content) AS
    CASE WHEN json_type(content) = 'VARCHAR' THEN content ->> '$' ELSE content::VARCHAR END;

-- An OTLP/JSON AnyValue as text: a string, an integer (proto3 JSON writes int64 as a
-- string), a double or a boolean; the first element of an array value.
CREATE OR REPLACE TEMP MACRO otel_value(v) AS
    coalesce(v ->> 'stringValue', v ->> 'intValue', v ->> 'doubleValue', v ->> 'boolValue',
             v ->> '$.arrayValue.values[0].stringValue');

-- The input tokens that neither read nor wrote the cache, from a cache-inclusive total
-- (OpenAI's prompt_tokens, LiteLLM's prompt_tokens, OTel's gen_ai.usage.input_tokens):
-- the total itself when a part is not a number, so that the contract's rules name it.
CREATE OR REPLACE TEMP MACRO uncached_tokens(total, cache_read, cache_creation) AS
    CASE
        WHEN to_int(total) IS NOT NULL
            AND (cache_read IS NULL OR to_int(cache_read) IS NOT NULL)
            AND (cache_creation IS NULL OR to_int(cache_creation) IS NOT NULL)
        THEN (to_int(total) - coalesce(to_int(cache_read), 0)
              - coalesce(to_int(cache_creation), 0))::VARCHAR
        ELSE total
    END;

-- The prompt hash derived from the text when the log carries none: sha256 of the text with
-- runs of white space folded to one space and the ends trimmed (Python's
-- " ".join(text.split()) for ASCII white space). Most texts need no folding; the cheap test
-- spares them the rewrite.
CREATE OR REPLACE TEMP MACRO prompt_text_hash(text) AS
    sha256(CASE WHEN regexp_matches(text, '^\s|\s$|\s\s|[\t\n\r\f\v]')
        THEN trim(regexp_replace(text, '\s+', ' ', 'g')) ELSE text END);

-- The prompt's opening as a template: lower case, code blocks, quoted strings, numbers and
-- nonce-like tokens masked, white space folded, the first eight words kept. The words are
-- taken with one match of the first eight rather than a split of the whole text, which was
-- half the macro's time (the same templates on the seedday day's 268,412 texts).
CREATE OR REPLACE TEMP MACRO prompt_template(text) AS
    regexp_replace(regexp_extract(
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(lower(text),
            '```.*?```', ' ‹code› ', 'gs'),
            '"[^"]{1,200}"|''[^'']{1,200}''', ' ‹q› ', 'g'),
            '\b[a-z0-9_-]*\d[a-z0-9_-]{4,}\b', ' ‹x› ', 'g'),
            '\d+([.,]\d+)*', ' ‹n› ', 'g'),
        '^\s*(\S+(\s+\S+){0,7})', 1), '\s+', ' ', 'g');

-- Chain-of-thought elicitation: the prompt asks for the reasoning, not only the answer.
CREATE OR REPLACE TEMP MACRO prompt_elicits_reasoning(text) AS
    regexp_matches(lower(text),
        'step[ -]by[ -]step|show (all |your )?(work|working|reasoning|steps)|think (carefully|'
        || 'through|it through|aloud)|explain (your|each|every) (reasoning|step)|chain[ -]of[ -]'
        || 'thought|reason(ing)? (carefully|step)|let''s think|walk me through|justify each');

-- The capability a prompt exercises: the first rule of a fixed lexicon that matches, in
-- this order (specific before generic). 'unknown' without text; 'other' when none match.
CREATE OR REPLACE TEMP MACRO prompt_capability(text) AS
    CASE
        WHEN text IS NULL THEN 'unknown'
        WHEN regexp_matches(lower(text), '"(type|name)"\s*:\s*"(function|tool)|\btools?\b.{0,40}'
            || '\b(call|use|invoke|available)\b|function[_ ]call|\bapi call\b|\bagent\b|'
            || 'json schema|"parameters"\s*:') THEN 'tool_use'
        WHEN regexp_matches(lower(text), '\btranslat|into (english|spanish|french|german|'
            || 'chinese|japanese|korean|russian|italian|portuguese|arabic|hindi)\b|'
            || '\b(in|to) (spanish|french|german|chinese|japanese|korean|russian)\b')
            OR regexp_matches(text, '[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Cyrillic}]')
            THEN 'translation'
        WHEN regexp_matches(text, '```|\bdef [a-z_]+\(|\bfunction\s*\(|\bclass [A-Z]|#include|'
            || 'SELECT .+ FROM|\bimport [a-z]')
            OR regexp_matches(lower(text), '\b(python|javascript|typescript|java|c\+\+|rust|golang|'
            || 'sql|regex|bash|html|css|code|program|function|algorithm|debug|compile|bug)\b')
            THEN 'code'
        WHEN regexp_matches(lower(text), '\b(extract|parse|classify|categori[sz]e|label|tag|'
            || 'summari[sz]e the (following|table|data)|from the (text|passage|table) below|'
            || 'named entit|csv|fields?)\b') THEN 'data_extraction'
        WHEN regexp_matches(lower(text), '\b(solve|equation|calculate|compute|integral|derivative|'
            || 'probability|how many|how much|percent|sum of|product of|theorem|prove)\b|'
            || '\d+\s*[-+*/^=]\s*\d+') THEN 'math'
        WHEN regexp_matches(lower(text), '\b(act as|pretend|roleplay|role-play|you are a|'
            || 'i want you to act|character|stay in character|let''s chat|chat with me)\b')
            THEN 'roleplay_chat'
        WHEN regexp_matches(lower(text), '\b(logic|puzzle|deduce|infer|which of the following|'
            || 'true or false|if .+ then|reasoning|argument|premise|conclusion|riddle|'
            || 'paraphrase or not|entail)') THEN 'reasoning'
        WHEN regexp_matches(lower(text), '\b(write|compose|draft|rewrite|essay|poem|story|'
            || 'letter|email|blog|article|slogan|tweet|lyrics|edit|proofread)\b')
            THEN 'writing'
        WHEN regexp_matches(lower(text), '\b(what|who|when|where|why|which|how does|explain|'
            || 'define|describe|history of|difference between)\b|\?\s*$') THEN 'knowledge_qa'
        ELSE 'other'
    END;

-- A country's standard UTC offset in hours (its most populous time zone): enough to tell
-- a working day from a night. Unknown countries count as UTC.
CREATE OR REPLACE TEMP MACRO country_utc_offset(country) AS
    CASE upper(country)
        WHEN 'US' THEN -6 WHEN 'CA' THEN -5 WHEN 'MX' THEN -6 WHEN 'BR' THEN -3
        WHEN 'AR' THEN -3 WHEN 'CO' THEN -5 WHEN 'CL' THEN -4 WHEN 'GB' THEN 0
        WHEN 'IE' THEN 0 WHEN 'PT' THEN 0 WHEN 'NG' THEN 1 WHEN 'DE' THEN 1
        WHEN 'FR' THEN 1 WHEN 'ES' THEN 1 WHEN 'IT' THEN 1 WHEN 'NL' THEN 1
        WHEN 'SE' THEN 1 WHEN 'PL' THEN 1 WHEN 'ZA' THEN 2 WHEN 'EG' THEN 2
        WHEN 'UA' THEN 2 WHEN 'TR' THEN 3 WHEN 'RU' THEN 3 WHEN 'AE' THEN 4
        WHEN 'PK' THEN 5 WHEN 'IN' THEN 5 WHEN 'BD' THEN 6 WHEN 'VN' THEN 7
        WHEN 'TH' THEN 7 WHEN 'ID' THEN 7 WHEN 'CN' THEN 8 WHEN 'SG' THEN 8
        WHEN 'PH' THEN 8 WHEN 'HK' THEN 8 WHEN 'TW' THEN 8 WHEN 'KR' THEN 9
        WHEN 'JP' THEN 9 WHEN 'AU' THEN 10 WHEN 'NZ' THEN 12
        ELSE 0
    END;

-- A verdict's severity, most severe first: flagged 0, watch 1, clear (or none) 2.
CREATE OR REPLACE TEMP MACRO verdict_level(v) AS
    CASE v WHEN 'flagged' THEN 0 WHEN 'watch' THEN 1 ELSE 2 END;
