# Reference values for participation.analysis.compare, in base R (plus jsonlite for output).
# Run from this folder: Rscript compare_reference.R  (writes compare_reference.json)
library(jsonlite)

theta <- c(81.2, 76.5, 69.9, 88.1, 73.4, 79.0, 84.6, 71.8)
se <- c(2.1, 3.4, 2.8, 1.9, 4.2, 2.5, 3.0, 2.2)
n <- length(theta)
# A covariance with positive correlations (as from one survey with shared calibration).
R <- outer(1:n, 1:n, function(i, j) 0.3^abs(i - j))
Sigma <- diag(se) %*% R %*% diag(se)
w <- c(1200, 800, 950, 1500, 600, 1000, 1300, 700)
w <- w / sum(w)

vs_mean <- function(S, w, alternative) {
  centre <- sum(w * theta)
  d <- theta - centre
  v <- sapply(1:n, function(i) {
    a <- -w
    a[i] <- a[i] + 1
    drop(t(a) %*% S %*% a)
  })
  z <- d / sqrt(v)
  p <- switch(alternative,
    "two-sided" = 2 * pnorm(-abs(z)),
    "less" = pnorm(z),
    "greater" = pnorm(z, lower.tail = FALSE)
  )
  list(centre = centre, diff = d, se = sqrt(v), z = z, p = p,
       p_holm = p.adjust(p, "holm"),
       ci_low = d - qnorm(0.975) * sqrt(v), ci_high = d + qnorm(0.975) * sqrt(v),
       mean_se = sqrt(drop(t(w) %*% S %*% w)))
}

eq <- rep(1 / n, n)
before <- c(70.1, 82.3, 65.0, 90.2)
se_before <- c(2.2, 1.8, 3.9, 1.1)
after <- c(74.6, 81.0, 71.9, 90.0)
se_after <- c(2.0, 2.4, 3.1, 1.3)
covba <- c(0, 0.5, 1.2, 0)
dse <- sqrt(se_before^2 + se_after^2 - 2 * covba)
dz <- (after - before) / dse

ref <- list(
  theta = theta, se = se, Sigma = Sigma, weights = w,
  diag_equal_two_sided = vs_mean(diag(se^2), eq, "two-sided"),
  cov_weighted_two_sided = vs_mean(Sigma, w, "two-sided"),
  cov_weighted_less = vs_mean(Sigma, w, "less"),
  external = local({
    r <- 78; rse <- 0.8
    d <- theta - r
    s <- sqrt(se^2 + rse^2)
    p <- 2 * pnorm(-abs(d / s))
    list(reference = r, reference_se = rse, diff = d, se = s, p = p, p_holm = p.adjust(p, "holm"))
  }),
  holm_input = c(0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.9),
  holm_output = p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.9), "holm"),
  waves = list(before = before, se_before = se_before, after = after, se_after = se_after,
               cov = covba, estimate = after - before, se = dse, z = dz,
               p = 2 * pnorm(-abs(dz)),
               ci_low = after - before - qnorm(0.95) * dse,
               ci_high = after - before + qnorm(0.95) * dse)
)
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), "compare_reference.json")
