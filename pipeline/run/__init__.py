"""Run: the stages in order (``runner``), the Airflow task functions (``orchestration``), the
``forensics`` command (``cli``, ``terminal``) and the investigator's read-only questions
(``investigation``). The top layer: nothing below imports it."""
