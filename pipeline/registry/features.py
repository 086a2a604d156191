"""The per-day tables of ``pipeline.features.features`` (``FEATURE_TABLES``), one Parquet partition
per UTC day each: what the window stages read instead of the requests.
"""

from __future__ import annotations

from pipeline.registry.columns import _ACCOUNT, _INPUT_SUM, _OUTPUT_SUM, _RATE_LIMITED, _REQUESTS
from pipeline.registry.shape import CAPABILITIES, Table, _c

# Columns that mean the same thing in every per-day table, declared once so that one
# quantity never has two names or two types.
_FIRST = _c("first_request_at", "TIMESTAMPTZ", "time of the group's first request")
_LAST = _c("last_request_at", "TIMESTAMPTZ", "time of the group's last request")
_HOUR = _c("hour_at", "TIMESTAMPTZ", "the UTC hour (truncated timestamp)")
_CREATION_SUM = _c("cache_creation_input_tokens_sum", "BIGINT",
                   "sum of cache_creation_input_tokens (input written to the cache)")
_READ_SUM = _c("cache_read_input_tokens_sum", "BIGINT",
               "sum of cache_read_input_tokens (input read from the cache)")

ACCOUNT_DAY = Table(
    name="account_day",
    meaning="each account's day at a glance: status mix, token sums and quantiles, "
            "long-output and caching shares, pacing against its limits, distinct keys",
    grain="one row per account with at least one request on the day",
    key=("account_id",),
    columns=(
        _ACCOUNT,
        _REQUESTS,
        _c("ok_count", "BIGINT", "requests answered 2xx"),
        _RATE_LIMITED,
        _c("client_error_count", "BIGINT", "requests answered 4xx other than 429"),
        _c("error_count", "BIGINT", "requests answered 5xx"),
        _c("rate_limited_share", "DOUBLE", "rate_limited_count / request_count"),
        _INPUT_SUM,
        _OUTPUT_SUM,
        _CREATION_SUM,
        _READ_SUM,
        _c("total_input_tokens_sum", "BIGINT",
           "input + cache creation + cache read tokens: the whole prompt the model saw"),
        _c("output_tokens_p50", "DOUBLE", "median output_tokens of the 2xx requests"),
        _c("output_tokens_p90", "DOUBLE", "90th percentile output_tokens of the 2xx requests"),
        _c("total_input_tokens_p50", "DOUBLE",
           "median total input tokens (input + creation + read) of the 2xx requests"),
        _c("output_input_ratio", "DOUBLE",
           "output_tokens_sum / total_input_tokens_sum; NULL when no input"),
        _c("max_tokens_saturated_share", "DOUBLE",
           "share of 2xx requests that hit their limit (stop_reason max_tokens or "
           "output_tokens >= max_tokens); NULL when no 2xx"),
        _c("cache_read_share", "DOUBLE",
           "cache_read_input_tokens_sum / total_input_tokens_sum; NULL when no input"),
        _c("cache_creation_share", "DOUBLE",
           "cache_creation_input_tokens_sum / total_input_tokens_sum; NULL when no input"),
        _c("active_hour_count", "BIGINT", "distinct UTC hours with a request"),
        _c("active_minute_count", "BIGINT", "distinct UTC minutes with a request"),
        _c("peak_rpm", "BIGINT", "most requests (any status) in one UTC calendar minute"),
        _c("rpm_limit", "BIGINT", "the account's requests-per-minute limit; NULL if unknown"),
        _c("peak_rpm_limit_ratio", "DOUBLE", "peak_rpm / rpm_limit; NULL if no limit"),
        _c("peak_itpm", "BIGINT",
           "most input_tokens + cache_creation_input_tokens in one UTC minute (what an "
           "input-tokens-per-minute limit counts; cache reads do not)"),
        _c("itpm_limit", "BIGINT", "the account's input-tokens-per-minute limit; NULL if unknown"),
        _c("peak_itpm_limit_ratio", "DOUBLE", "peak_itpm / itpm_limit; NULL if no limit"),
        _c("distinct_source_ip_count", "BIGINT", "distinct source IP addresses"),
        _c("distinct_ip_prefix_count", "BIGINT", "distinct /24 (IPv4) or /48 (IPv6) prefixes"),
        _c("distinct_user_agent_count", "BIGINT", "distinct user agents"),
        _c("distinct_api_key_count", "BIGINT", "distinct api_key_id values"),
        _c("distinct_system_hash_count", "BIGINT", "distinct system prompt hashes"),
        _c("distinct_prompt_hash_count", "BIGINT", "distinct user prompt hashes"),
        _c("distinct_model_count", "BIGINT", "distinct models"),
        _c("temperature_mean", "DOUBLE", "mean temperature of the requests that set one"),
        _c("temperature_positive_share", "DOUBLE",
           "share of the requests that set a temperature with temperature > 0"),
        _FIRST,
        _LAST,
    ),
)

ACCOUNT_HOUR = Table(
    name="account_hour",
    meaning="hour-of-day profiles and synchronized start and stop across accounts",
    grain="one row per account and UTC hour with at least one request",
    key=("account_id", "hour_at"),
    columns=(_ACCOUNT, _HOUR, _REQUESTS, _RATE_LIMITED, _INPUT_SUM, _OUTPUT_SUM,
             _CREATION_SUM, _READ_SUM),
)

ACCOUNT_MINUTE = Table(
    name="account_minute",
    meaning="pacing against rpm_limit and synchronized activity across accounts",
    grain="one row per account and UTC minute with at least one request (sparse)",
    key=("account_id", "minute_at"),
    columns=(
        _ACCOUNT,
        _c("minute_at", "TIMESTAMPTZ", "the UTC minute (truncated timestamp)"),
        _REQUESTS,
        _RATE_LIMITED,
    ),
)

ACCOUNT_PROMPT_DAY = Table(
    name="account_prompt_day",
    meaning="identical rare prompts across accounts, repeated sampling of one prompt, cache "
            "replays",
    grain="one row per account and prompt_hash sent on the day (requests without one are "
          "left out)",
    key=("account_id", "prompt_hash"),
    columns=(
        _ACCOUNT,
        _c("prompt_hash", "VARCHAR", "hash of the user prompt"),
        _REQUESTS,
        _RATE_LIMITED,
        _c("temperature_positive_count", "BIGINT", "requests with temperature > 0"),
        _c("output_tokens_max", "BIGINT", "largest output_tokens of the prompt's requests"),
        _c("system_hash", "VARCHAR",
           "the system prompt hash sent most often with this prompt (ties: the smallest); "
           "NULL when that is no system prompt"),
        _FIRST,
        _LAST,
    ),
)

ACCOUNT_KEY_DAY = Table(
    name="account_key_day",
    meaning="the request fields linking counts as shared keys, with how often and when",
    grain="one row per account, key type and key value observed in its requests",
    key=("account_id", "key_type", "key_value"),
    columns=(
        _ACCOUNT,
        _c("key_type", "VARCHAR",
           "which request field: ip_prefix, source_ip, user_agent, system_hash, api_key_id, "
           "model"),
        _c("key_value", "VARCHAR", "the field's value (absent values are left out)"),
        _REQUESTS,
        _FIRST,
        _LAST,
    ),
)

ACCOUNT_PREFIX_HOUR = Table(
    name="account_prefix_hour",
    meaning="the evidence \"same IP prefix in the same hour\" without the requests",
    grain="one row per account, IP prefix and UTC hour with at least one request",
    key=("account_id", "ip_prefix", "hour_at"),
    columns=(
        _ACCOUNT,
        _c("ip_prefix", "VARCHAR", "/24 (IPv4) or /48 (IPv6) network of the source IP"),
        _HOUR,
        _REQUESTS,
    ),
)

FAILOVER_DAY = Table(
    name="failover_day",
    meaning="429s retried on another account's key: a key pool's proxies",
    grain="one row per ordered pair of accounts (account_id, next_account_id) with at "
          "least one 429 failover from the first to the second",
    key=("account_id", "next_account_id"),
    shared_by=("prompt_hash",),
    columns=(
        _c("account_id", "VARCHAR", "the account that was answered 429"),
        _c("next_account_id", "VARCHAR",
           "the first other account to send the same prompt_hash within $failover_seconds "
           "after the 429"),
        _c("event_count", "BIGINT", "429 requests of account_id failed over to next_account_id"),
        _c("distinct_prompt_hash_count", "BIGINT", "distinct prompts among those events"),
        _c("first_event_at", "TIMESTAMPTZ", "time of the first such 429"),
        _c("last_event_at", "TIMESTAMPTZ", "time of the last such 429"),
    ),
)

PROMPT_PAIR_DAY = Table(
    name="prompt_pair_day",
    meaning="pairs of accounts that sent one rare prompt within minutes of each other",
    grain="one row per unordered pair of accounts (account_a < account_b) that sent one "
          "prompt_hash within $pair_minutes of each other, counting only prompts sent by at "
          "most $max_accounts_per_prompt accounts that day",
    key=("account_a", "account_b"),
    owner="account_a",
    shared_by=("prompt_hash",),
    columns=(
        _c("account_a", "VARCHAR", "the pair's smaller account_id"),
        _c("account_b", "VARCHAR", "the pair's larger account_id"),
        _c("shared_prompt_count", "BIGINT",
           "distinct prompt hashes both accounts sent within $pair_minutes of each other"),
        _c("co_occurrence_count", "BIGINT",
           "matching cells: pairs of (account, prompt, $pair_minutes-wide slot of the clock) "
           "of the two accounts with requests within $pair_minutes of each other; one per "
           "shared prompt when each account sent it once"),
        _c("first_co_occurrence_at", "TIMESTAMPTZ",
           "earliest request of either account in the pair's matching cells"),
    ),
)

ACCOUNT_BAND_DAY = Table(
    name="account_band_day",
    meaning="near-duplicate prompts (the same prompt, disguised) sent close together",
    grain="one row per account, UTC hour and near-duplicate band key of its prompts",
    key=("account_id", "hour_at", "band_key"),
    columns=(
        _ACCOUNT,
        _HOUR,
        _c("band_key", "UBIGINT",
           "one band of a prompt's MinHash signature over word 3-grams (numbers and nonces "
           "masked): prompts that differ by nonces, an opener or a wrapper share bands"),
        _REQUESTS,
        _c("prompt_count", "BIGINT", "distinct prompt hashes of the account with this band"),
    ),
)

ACCOUNT_CAPABILITY_DAY = Table(
    name="account_capability_day",
    meaning="what an account asks for: the capability mix, chain-of-thought elicitation, prompt "
            "length, script",
    grain="one row per account and capability category of its prompts on the day",
    key=("account_id", "capability"),
    columns=(
        _ACCOUNT,
        _c("capability", "VARCHAR",
           f"{', '.join(CAPABILITIES)}; unknown without prompt text"),
        _REQUESTS,
        _c("reasoning_elicited_count", "BIGINT",
           "requests whose prompt asks for the reasoning (chain-of-thought elicitation)"),
        _c("prompt_chars_sum", "BIGINT", "characters of prompt text"),
        _c("non_latin_count", "BIGINT", "requests whose prompt has non-Latin script"),
    ),
)

ACCOUNT_TEMPLATE_DAY = Table(
    name="account_template_day",
    meaning="prompt wrappers reused across accounts",
    grain="one row per account and prompt template (masked opening, hashed) on the day",
    key=("account_id", "template_key"),
    columns=(
        _ACCOUNT,
        _c("template_key", "VARCHAR",
           "tpl:<hash of the masked first eight words>, or hash:<prompt_hash> without text"),
        _REQUESTS,
    ),
)

ACCOUNT_PREFIX_DAY = Table(
    name="account_prefix_day",
    meaning="the prompt cache's observed reads and writes against what the account's own "
            "repetition predicts",
    grain="one row per account, model and system prompt hash (cacheable prefix) on the day",
    key=("account_id", "model", "system_hash"),
    columns=(
        _ACCOUNT,
        _c("model", "VARCHAR", "model name"),
        _c("system_hash", "VARCHAR", "hash of the system prompt: the cacheable prefix"),
        _c("cacheable_count", "BIGINT",
           "2xx requests with this prefix and at least $min_cacheable_tokens of input"),
        _c("predicted_hit_count", "BIGINT",
           "requests the account's own repetition predicts as cache hits (same prefix within "
           "the TTL, not concurrent)"),
        _c("observed_read_count", "BIGINT", "requests that read the cache"),
        _c("observed_write_count", "BIGINT", "requests that wrote the cache"),
        _c("busted_count", "BIGINT", "predicted hits that wrote the prefix again instead of "
           "reading it (a busted cache)"),
    ),
)

PREFIX_HANDOFF_DAY = Table(
    name="prefix_handoff_day",
    meaning="cache hits lost to a prefix passed between accounts: what spreading one operator's "
            "traffic over accounts costs it",
    grain="one row per ordered pair of accounts and cacheable prefix that passed from the "
          "second account to the first within the TTL on the day",
    key=("account_id", "previous_account_id", "model", "system_hash"),
    shared_by=("model", "system_hash"),
    columns=(
        _ACCOUNT,
        _c("previous_account_id", "VARCHAR",
           "the other account that last used the prefix within the TTL"),
        _c("model", "VARCHAR", "model name"),
        _c("system_hash", "VARCHAR", "hash of the system prompt: the cacheable prefix"),
        _c("handoff_count", "BIGINT",
           "requests that would have hit the cache had the two accounts been one"),
    ),
)

FEATURE_TABLES: tuple[Table, ...] = (
    ACCOUNT_DAY,
    ACCOUNT_HOUR,
    ACCOUNT_MINUTE,
    ACCOUNT_PROMPT_DAY,
    ACCOUNT_KEY_DAY,
    ACCOUNT_PREFIX_HOUR,
    FAILOVER_DAY,
    PROMPT_PAIR_DAY,
    ACCOUNT_BAND_DAY,
    ACCOUNT_CAPABILITY_DAY,
    ACCOUNT_TEMPLATE_DAY,
    ACCOUNT_PREFIX_DAY,
    PREFIX_HANDOFF_DAY,
)
"""The compact per-day tables of ``pipeline.features.features``: what window stages read instead
of the requests."""
