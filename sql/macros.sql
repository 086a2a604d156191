-- macros: scalar helpers shared by the ingest SQL. Not a table. A field arrives as w, its
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

-- ts: epoch milliseconds (a number or a string of digits), or RFC 3339 with a time and an
-- explicit offset. A wall-clock time without an offset is ambiguous and so the wrong type.
CREATE OR REPLACE TEMP MACRO to_ts(x) AS
    CASE
        WHEN try_cast(x AS BIGINT) IS NOT NULL AND NOT contains(x, '.')
            THEN epoch_ms(try_cast(x AS BIGINT))::TIMESTAMPTZ
        WHEN regexp_matches(x, '\d:\d\d(:\d\d(\.\d+)?)?\s*([Zz]|[+-]\d\d(:?\d\d)?)\s*$')
            THEN try_cast(trim(x) AS TIMESTAMPTZ)
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

-- The prompt hash derived from the text when the log carries none: sha256 of the text with
-- runs of white space folded to one space and the ends trimmed (Python's
-- " ".join(text.split()) for ASCII white space). Most texts need no folding; the cheap test
-- spares them the rewrite.
CREATE OR REPLACE TEMP MACRO prompt_text_hash(text) AS
    sha256(CASE WHEN regexp_matches(text, '^\s|\s$|\s\s|[\t\n\r\f\v]')
        THEN trim(regexp_replace(text, '\s+', ' ', 'g')) ELSE text END);
