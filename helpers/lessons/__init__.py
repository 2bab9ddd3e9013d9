"""What each lesson shows: tables and charts arranged from what the core modules compute.

One module per lesson, named for what it shows: ``zero_shot_report`` (01),
``prep_report`` (02), ``token_report`` (03), ``training_report`` (04, 05),
``compare`` (06, before/after and the decision table), ``scale_report`` (07).
They compute nothing the core modules (``helpers.classify``, ``helpers.metrics``,
``helpers.tokens``, ``helpers.jobs``, ...) do not already compute.
"""
