# Reference rank confidence sets for participation.analysis.ranks, written in base R after the
# algorithm of Mogstad, Romano, Shaikh and Wilhelm (2023) as structured in R's csranks
# (csdiffmeans over a logical matrix of pairs; csranks_simul; csranks_marg; cstaubest;
# cstauworst), but with a FIXED matrix of standard normal draws shared with the Python tests:
# Z* = draws %*% chol(Sigma) (csranks itself draws with MASS::mvrnorm at every step).
# Run from this folder: Rscript ranks_reference.R  (writes ranks_draws.csv, ranks_reference.json)
library(jsonlite)

set.seed(20230)
K <- 10
R <- 1000
theta <- c(84.1, 80.3, 79.8, 77.0, 76.2, 73.5, 73.1, 70.4, 66.0, 61.2)
se <- c(1.5, 2.0, 3.1, 1.2, 2.6, 1.9, 4.0, 1.4, 2.2, 3.0)
draws <- matrix(rnorm(R * K), R, K)
write.csv(format(draws, digits = 17), "ranks_draws.csv", row.names = FALSE, quote = FALSE)
draws <- as.matrix(read.csv("ranks_draws.csv"))  # exactly what Python reads
dimnames(draws) <- NULL
Corr <- outer(1:K, 1:K, function(i, j) 0.4^abs(i - j))
Sigma_full <- diag(se) %*% Corr %*% diag(se)

# Bootstrap maximum over the pairs (j, k) marked in I of (Z_j - Z_k)/sd_jk (fn = max),
# of -(Z_j - Z_k)/sd_jk (fn = mmax) or of |.| (fn = maxabs); type-7 quantile.
crit <- function(Z, sd, I, beta, fn) {
  idx <- which(I, arr.ind = TRUE)
  Zd <- (Z[, idx[, 1], drop = FALSE] - Z[, idx[, 2], drop = FALSE])
  Zd <- t(t(Zd) / sd[I])
  stats <- apply(Zd, 1, fn)
  unname(quantile(stats, probs = beta, type = 7))
}

diffmeans <- function(x, Sigma, Z, coverage, indices, cstype, stepdown) {
  p <- length(x)
  d <- outer(x, x, "-")
  sd <- sqrt(outer(diag(Sigma), diag(Sigma), "+") - 2 * Sigma)
  I0 <- matrix(TRUE, p, p)
  I0[-indices, ] <- FALSE
  if (stepdown && cstype == "symmetric") {
    I0[, indices] <- TRUE
    cstype <- "lower"
  }
  diag(I0) <- FALSE
  Istar <- I0
  I1 <- I0
  L <- matrix(-Inf, p, p)
  U <- matrix(Inf, p, p)
  last <- NA
  repeat {
    if (cstype == "lower") {
      last <- crit(Z, sd, I1, coverage, function(v) max(v))
      L[I1] <- d[I1] - sd[I1] * last
    } else if (cstype == "upper") {
      last <- crit(Z, sd, I1, coverage, function(v) max(-v))
      U[I1] <- d[I1] + sd[I1] * last
    } else {
      last <- crit(Z, sd, I1, coverage, function(v) max(abs(v)))
      L[I1] <- d[I1] - sd[I1] * last
      U[I1] <- d[I1] + sd[I1] * last
    }
    before <- sum(I1)
    I1[U < 0 | L > 0] <- FALSE
    if (!stepdown || sum(I1) == before || sum(I1) == 0) break
  }
  L[!Istar] <- NA
  U[!Istar] <- NA
  list(L = L, U = U, crit = last)
}

ranks_simul <- function(x, Sigma, Z, coverage, indices, cstype, stepdown) {
  dtype <- switch(cstype, "lower" = "upper", "upper" = "lower", "two-sided" = "symmetric")
  res <- diffmeans(x, Sigma, Z, coverage, indices, dtype, stepdown)
  L <- res$L
  U <- res$U
  if (stepdown && cstype == "two-sided") {
    Nplus <- rowSums(L[indices, , drop = FALSE] > 0, na.rm = TRUE)
    Nminus <- colSums(L[, indices, drop = FALSE] > 0, na.rm = TRUE)
  } else {
    Nplus <- rowSums(L[indices, , drop = FALSE] > 0, na.rm = TRUE)
    Nminus <- rowSums(U[indices, , drop = FALSE] < 0, na.rm = TRUE)
  }
  list(L = as.integer(Nminus + 1), U = as.integer(length(x) - Nplus), crit = res$crit)
}

ranks_marg <- function(x, Sigma, Z, coverage, cstype, stepdown) {
  out <- lapply(seq_along(x), function(i) ranks_simul(x, Sigma, Z, coverage, i, cstype, stepdown))
  list(L = sapply(out, `[[`, "L"), U = sapply(out, `[[`, "U"), crit = sapply(out, `[[`, "crit"))
}

cases <- list()
for (cov_name in c("diagonal", "full")) {
  Sigma <- if (cov_name == "diagonal") diag(se^2) else Sigma_full
  Z <- draws %*% chol(Sigma)
  for (stepdown in c(FALSE, TRUE)) {
    for (cstype in c("two-sided", "lower", "upper")) {
      m <- ranks_marg(theta, Sigma, Z, 0.95, cstype, stepdown)
      s <- ranks_simul(theta, Sigma, Z, 0.95, seq_len(K), cstype, stepdown)
      cases[[length(cases) + 1]] <- list(cov = cov_name, stepdown = stepdown, cstype = cstype,
        marginal = m, simultaneous = s)
    }
    sub <- ranks_simul(theta, Sigma, Z, 0.90, c(4, 5, 6), "two-sided", stepdown)
    best <- ranks_simul(theta, Sigma, Z, 0.95, seq_len(K), "lower", stepdown)$L
    worst <- ranks_simul(theta, Sigma, Z, 0.95, seq_len(K), "upper", stepdown)$U
    cases[[length(cases) + 1]] <- list(cov = cov_name, stepdown = stepdown, cstype = "subset",
      subset = c(3, 4, 5), subset_result = sub,
      tau = 3, tau_best = which(best <= 3) - 1, tau_worst = which(worst >= K - 3 + 1) - 1)
  }
}
ref <- list(theta = theta, se = se, Sigma_full = Sigma_full, cases = cases)
writeLines(toJSON(ref, digits = NA, auto_unbox = FALSE, pretty = TRUE), "ranks_reference.json")
