# Reference Fay-Herriot EBLUPs and MSEs for participation.analysis.sae, in base R.
# R's sae package is not installable here (no Debian package r-cran-sae), so this script
# re-implements sae::eblupFH / sae::mseFH from their published definitions (Fisher scoring
# from median(vardir), relative-change stopping at PRECISION = 1e-4, MAXITER = 100, truncation
# at 0; Prasad-Rao g1 + g2 + 2 g3 for REML, Datta-Lahiri bias terms for ML and FH), and checks
# the REML estimate independently by maximising the restricted log-likelihood with optimize().
# Run from this folder: Rscript sae_reference.R  (writes sae_reference.json)
library(jsonlite)

set.seed(31)
m <- 30
county <- rep(c("A", "B", "C", "D"), length.out = m)
n_resp <- sample(c(8, 12, 20, 35, 60, 120), m, replace = TRUE)
D <- 15^2 / n_resp
effect <- c(A = 78, B = 72, C = 81, D = 69)[county]
theta <- effect + rnorm(m, 0, 3)
y <- theta + rnorm(m, 0, sqrt(D))
history <- lapply(seq_len(m), function(i) if (i %% 7 == 0) numeric(0) else
  theta[i] + rnorm(sample(1:3, 1), 0, 4))
prev <- sapply(history, function(h) if (length(h)) mean(h) else NA)
has <- !is.na(prev)
prev_filled <- ifelse(has, prev, mean(prev[has]))

X_county <- cbind(1, county == "B", county == "C", county == "D")
X_prev <- cbind(1, prev_filled, as.numeric(!has))

fh_fit <- function(y, D, X, method, maxiter = 100, precision = 1e-4) {
  m <- length(y); p <- ncol(X)
  score_info <- function(A) {
    Vi <- 1 / (A + D)
    Q <- solve(t(X * Vi) %*% X)
    if (method == "FH") {
      beta <- Q %*% t(X * Vi) %*% y
      r <- y - X %*% beta
      return(c(sum(r^2 * Vi) - (m - p), sum(Vi)))
    }
    P <- diag(Vi) - (X * Vi) %*% Q %*% t(X * Vi)
    Py <- P %*% y
    if (method == "ML") return(c(-0.5 * sum(Vi) + 0.5 * sum(Py^2), 0.5 * sum(Vi^2)))
    c(-0.5 * sum(diag(P)) + 0.5 * sum(Py^2), 0.5 * sum(P * P))
  }
  A <- median(D); k <- 0; diff <- precision + 1; unbounded <- NA
  while (diff > precision && k < maxiter) {
    k <- k + 1
    sf <- score_info(A)
    Anew <- A + sf[1] / sf[2]
    if (Anew < 0) {
      # Deviation from sae (which iterates on with negative variances): stop at the boundary
      # when the score at 0 is not positive, else halve the step.
      if (score_info(0)[1] <= 0) {
        unbounded <- Anew
        A <- 0
        break
      }
      Anew <- A / 2
    }
    diff <- abs((Anew - A) / A)
    A <- Anew
  }
  if (is.na(unbounded)) unbounded <- A
  A <- max(A, 0)
  Vi <- 1 / (A + D)
  Q <- solve(t(X * Vi) %*% X)
  beta <- drop(Q %*% t(X * Vi) %*% y)
  syn <- drop(X %*% beta)
  res <- y - syn
  eblup <- syn + A * Vi * res
  B <- D * Vi
  SumV2 <- sum(Vi^2)
  g1 <- D * (1 - B)
  g2 <- B^2 * rowSums((X %*% Q) * X)
  if (method == "FH") {
    SumV <- sum(Vi)
    VarA <- 2 * m / SumV^2
    b <- 2 * (m * SumV2 - SumV^2) / SumV^3
  } else {
    VarA <- 2 / SumV2
    b <- -sum(diag(Q %*% (t(Vi^2 * X) %*% X))) / SumV2
  }
  g3 <- B^2 * VarA / (A + D)
  mse <- g1 + g2 + 2 * g3
  if (method != "REML") mse <- mse - b * B^2
  loglike <- -0.5 * sum(log(2 * pi * (A + D)) + res^2 * Vi)
  list(A = A, A_unbounded = unbounded, iterations = k, beta = beta,
       beta_se = sqrt(diag(Q)), eblup = eblup, mse = mse, g1 = g1, g2 = g2, g3 = g3,
       synthetic = syn, loglike = loglike)
}

reml_optimize <- function(y, D, X) {
  nll <- function(A) {
    V <- A + D
    Xv <- X / V
    XtViX <- t(X) %*% Xv
    beta <- solve(XtViX, t(Xv) %*% y)
    r <- y - X %*% beta
    0.5 * (sum(log(V)) + determinant(XtViX)$modulus + sum(r^2 / V))
  }
  optimize(nll, c(0, 10 * var(y)), tol = 1e-12)$minimum
}

# A data set where the between-area variance is essentially nil: sigma2_u truncates to 0.
set.seed(7)
m0 <- 25
D0 <- runif(m0, 4, 16)
y0 <- 75 + rnorm(m0, 0, sqrt(D0) * 0.6)

ref <- list(
  data = list(y = y, D = D, county = county, history = history, y0 = y0, D0 = D0),
  county = list(REML = fh_fit(y, D, X_county, "REML"), ML = fh_fit(y, D, X_county, "ML"),
                FH = fh_fit(y, D, X_county, "FH")),
  intercept = list(REML = fh_fit(y, D, matrix(1, m, 1), "REML")),
  previous = list(REML = fh_fit(y, D, X_prev, "REML")),
  tight_reml = list(fit = fh_fit(y, D, X_county, "REML", precision = 1e-12),
                    optimize = reml_optimize(y, D, X_county)),
  truncated = list(REML = fh_fit(y0, D0, matrix(1, m0, 1), "REML"),
                   FH = fh_fit(y0, D0, matrix(1, m0, 1), "FH"))
)
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), "sae_reference.json")
cat("REML A:", ref$county$REML$A, "iters", ref$county$REML$iterations,
    "tight", ref$tight_reml$fit$A, "optimize", ref$tight_reml$optimize, "\n")
cat("truncated:", ref$truncated$REML$A_unbounded, ref$truncated$FH$A_unbounded, "\n")
cat("ML", ref$county$ML$A, "FH", ref$county$FH$A, "prev", ref$previous$REML$A, "\n")
