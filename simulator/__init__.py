"""Synthetic, labelled LLM API traffic: benign hard negatives and distillation campaigns.

The public entry point is ``simulator.simulate`` (``simulate``, ``SCENARIOS``); the modules here
are its parts: ``scenarios`` (sizes), ``assets`` (prompts, user agents, models), ``accounts``
(who exists), ``traffic`` (who sends what when), ``render`` (cache replay, tokens, writing).
"""
