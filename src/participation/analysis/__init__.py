# Comparisons, rank confidence sets and small-area estimation (each a pure module).
from participation.analysis.compare import (
    compare_with_mean,
    compare_with_reference,
    difference,
    differences,
    holm,
)
from participation.analysis.estimates import (
    DomainEstimates,
    ScoreEstimates,
    domain_estimates,
    mean_interval,
    proportion_interval,
    score_estimates,
)
from participation.analysis.ranks import rank_confidence_sets, tau_best, tau_worst
from participation.analysis.replicate import (
    ReplicateWeights,
    bootstrap_weights,
    jkn_weights,
    rake_replicates,
    replicate_domain_means,
    replicate_variance,
)
from participation.analysis.sae import design_matrix, fay_herriot
from participation.analysis.variance import Calibration, Design, DesignError, linearized_covariance
from participation.analysis.weights import (
    Margin,
    RakeResult,
    WeightingError,
    calibrate_bounded,
    design_weights,
    poststratify,
    rake,
    trim_and_rake,
    weight_diagnostics,
)

__all__ = [
    "Calibration",
    "Design",
    "DesignError",
    "DomainEstimates",
    "Margin",
    "RakeResult",
    "ReplicateWeights",
    "ScoreEstimates",
    "WeightingError",
    "bootstrap_weights",
    "calibrate_bounded",
    "compare_with_mean",
    "compare_with_reference",
    "design_matrix",
    "design_weights",
    "difference",
    "differences",
    "domain_estimates",
    "fay_herriot",
    "holm",
    "jkn_weights",
    "linearized_covariance",
    "mean_interval",
    "poststratify",
    "proportion_interval",
    "rake",
    "rake_replicates",
    "rank_confidence_sets",
    "replicate_domain_means",
    "replicate_variance",
    "score_estimates",
    "tau_best",
    "tau_worst",
    "trim_and_rake",
    "weight_diagnostics",
]
