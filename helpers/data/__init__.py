"""Course data: loaders, validation with error codes, preparation, legacy prepare_data rules.

    from helpers.data import load_named, load_records, validate_file, preparation_plan, split
"""
from .dedup import char_ngrams, near_duplicate_matches, near_duplicate_pairs, near_duplicate_rows
from .legacy import LegacyReport, prepare_legacy
from .load import DATASET_DIR, NAMES, DatasetSpec, load_named, load_records, spec, to_frame
from .plan import Drop, PreparationPlan, preparation_plan
from .prepare import (
                      apply_label_map,
                      chat_example,
                      chat_rows,
                      class_counts,
                      drop_empty_texts,
                      drop_exact_duplicates,
                      drop_near_duplicates,
                      drop_rare_classes,
                      entity_chat_example,
                      entity_legacy_example,
                      order_by_label,
                      read_label_map,
                      shuffle,
                      split,
                      write_chat_jsonl,
                      write_jsonl,
)
from .prepared import label_mapping, load_prepared
from .real import DatasetUnavailable, fetch_newsgroups, fetch_tnews
from .report import CODES, DATA_CODES, SEVERITY, DataFileError, Problem, Report
from .validate import (
                      example_token_limit,
                      mojibake_fix,
                      validate_chat,
                      validate_file,
                      validate_legacy,
                      validate_table,
)

__all__ = [
    "CODES", "DATASET_DIR", "DATA_CODES", "NAMES", "SEVERITY", "DataFileError", "DatasetSpec",
    "DatasetUnavailable", "Drop", "LegacyReport", "PreparationPlan", "Problem", "Report",
    "apply_label_map", "char_ngrams", "chat_example", "chat_rows", "class_counts",
    "drop_empty_texts", "drop_exact_duplicates", "drop_near_duplicates", "drop_rare_classes",
    "entity_chat_example", "entity_legacy_example", "example_token_limit", "fetch_newsgroups",
    "fetch_tnews", "label_mapping", "load_named", "load_prepared", "load_records", "mojibake_fix",
    "near_duplicate_matches",
    "near_duplicate_pairs", "near_duplicate_rows", "order_by_label", "preparation_plan",
    "prepare_legacy", "read_label_map", "shuffle", "spec", "split", "to_frame", "validate_chat",
    "validate_file", "validate_legacy", "validate_table", "write_chat_jsonl", "write_jsonl",
]
