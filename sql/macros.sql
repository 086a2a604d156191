-- macros: scalar helpers shared by the ingest SQL. Not a table. Each input value arrives
-- as (t, v): t is its JSON type as json_type() names it (NULL when the field is absent or
-- JSON null) and v its text. CSV and Parquet records are rendered to JSON first, so one set
-- of rules judges every format; numbers written as strings (CSV has no types) are accepted.

-- A string field holds any scalar; objects, arrays and booleans are the wrong type.
CREATE OR REPLACE TEMP MACRO text_ok(t) AS
    t IS NULL OR t IN ('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE');

-- An integer field: a JSON integer, an integral JSON float, or a string of digits.
CREATE OR REPLACE TEMP MACRO to_int(t, v) AS
    CASE
        WHEN t IN ('BIGINT', 'UBIGINT') THEN try_cast(v AS BIGINT)
        WHEN t = 'DOUBLE' AND try_cast(v AS DOUBLE) = floor(try_cast(v AS DOUBLE))
            THEN try_cast(try_cast(v AS DOUBLE) AS BIGINT)
        WHEN t = 'VARCHAR' AND regexp_full_match(trim(v), '[+-]?\d+')
            THEN try_cast(trim(v) AS BIGINT)
    END;

CREATE OR REPLACE TEMP MACRO int_ok(t, v) AS t IS NULL OR to_int(t, v) IS NOT NULL;

CREATE OR REPLACE TEMP MACRO to_float(t, v) AS
    CASE
        WHEN t IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'VARCHAR')
            AND isfinite(try_cast(trim(v) AS DOUBLE))
            THEN try_cast(trim(v) AS DOUBLE)
    END;

CREATE OR REPLACE TEMP MACRO float_ok(t, v) AS t IS NULL OR to_float(t, v) IS NOT NULL;

-- ts: epoch milliseconds (a JSON integer or a string of digits), or RFC 3339 with an
-- explicit offset. A wall-clock time without an offset is ambiguous and so the wrong type.
CREATE OR REPLACE TEMP MACRO to_ts(t, v) AS
    CASE
        WHEN t IN ('BIGINT', 'UBIGINT')
            OR (t = 'VARCHAR' AND regexp_full_match(trim(v), '\d{1,16}'))
            THEN epoch_ms(try_cast(trim(v) AS BIGINT))::TIMESTAMPTZ
        WHEN t = 'VARCHAR' AND regexp_full_match(
                trim(v),
                '\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)'
            )
            THEN try_cast(trim(v) AS TIMESTAMPTZ)
    END;

CREATE OR REPLACE TEMP MACRO ts_ok(t, v) AS t IS NULL OR to_ts(t, v) IS NOT NULL;

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

CREATE OR REPLACE TEMP MACRO ip_ok(ip) AS ip IS NULL OR is_ipv4(ip) OR is_ipv6(ip);

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

-- The prompt hash derived from the text when the log carries none: sha256 of the text with
-- runs of white space folded to one space and the ends trimmed.
CREATE OR REPLACE TEMP MACRO prompt_text_hash(text) AS
    sha256(regexp_replace(trim(text), '\s+', ' ', 'g'));
