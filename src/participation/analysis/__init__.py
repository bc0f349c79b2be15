# Comparisons, rank confidence sets and small-area estimation (each a pure module).
from participation.analysis.compare import (
    compare_with_mean,
    compare_with_reference,
    difference,
    differences,
    holm,
)
from participation.analysis.ranks import rank_confidence_sets, tau_best, tau_worst
from participation.analysis.sae import design_matrix, fay_herriot

__all__ = [
    "compare_with_mean",
    "compare_with_reference",
    "design_matrix",
    "difference",
    "differences",
    "fay_herriot",
    "holm",
    "rank_confidence_sets",
    "tau_best",
    "tau_worst",
]
