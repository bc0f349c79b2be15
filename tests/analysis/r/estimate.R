# What `participation estimate` computes, in R survey (sourced by reference.R; usable alone):
#   source("tests/analysis/r/estimate.R")
#   estimate_like_cli("responses.csv", "margins.csv", by = "street", stratum = "street")
# Design: stratified by `stratum`, each respondent its own PSU, with replacement; weights
# raked to every margin by calibrate(calfun = "raking"); blank scores excluded with
# na.rm = TRUE (domain estimation on the calibrated design); domains are subset(design, ...).
suppressMessages(library(survey))

estimate_like_cli <- function(responses, margins, by = "street", stratum = "street",
                              weight = "weight", score = "score", satisfied_at = 80,
                              method = "logit") {
  d <- read.csv(responses, colClasses = "character", check.names = FALSE)
  m <- read.csv(margins, colClasses = "character")
  m$total <- as.numeric(m$total)
  d$.score <- as.numeric(ifelse(d[[score]] == "", NA, d[[score]]))
  d$.sat <- as.numeric(d$.score >= satisfied_at)
  d$.w <- if (weight %in% names(d)) as.numeric(d[[weight]]) else 1
  d$.stratum <- d[[stratum]]
  d$.by <- d[[by]]
  vars <- unique(m$variable)
  pop <- c(`(Intercept)` = sum(m$total[m$variable == vars[1]]))
  for (v in vars) {
    lv <- m$level[m$variable == v]
    d[[paste0(".m_", v)]] <- factor(d[[v]], levels = lv)
    pop <- c(pop, setNames(m$total[m$variable == v][-1], paste0(".m_", v, lv[-1])))
  }
  f <- as.formula(paste("~", paste(paste0(".m_", vars), collapse = "+")))
  des <- svydesign(ids = ~1, strata = ~.stratum, weights = ~.w, data = d)
  cal <- calibrate(des, f, population = pop, calfun = "raking", epsilon = 1e-13, maxit = 200)
  one <- function(design) {
    sc <- svymean(~.score, design, na.rm = TRUE)
    ci <- confint(sc)
    ps <- svymean(~.sat, design, na.rm = TRUE)
    p <- coef(ps)[[1]]
    se_p <- SE(ps)[[1]]
    if (method == "wilson") {
      z <- qnorm(0.975)
      ne <- p * (1 - p) / se_p^2
      centre <- (p + z^2 / (2 * ne)) / (1 + z^2 / ne)
      half <- z * sqrt(p * (1 - p) / ne + z^2 / (4 * ne^2)) / (1 + z^2 / ne)
      pci <- c(centre - half, centre + half)
    } else {
      cp <- svyciprop(~.sat, design, method = if (method == "korn-graubard") "beta" else method,
                      na.rm = TRUE)
      pci <- unname(attr(cp, "ci"))
    }
    list(n = sum(!is.na(design$variables$.score) & weights(design) > 0),
         mean = coef(sc)[[1]], se = SE(sc)[[1]], ci_low = ci[1], ci_high = ci[2],
         p_satisfied = p, p_se = se_p, p_ci_low = pci[1], p_ci_high = pci[2])
  }
  domains <- lapply(sort(unique(d$.by)), function(s) {
    c(list(domain = s), one(subset(cal, .by == s)))
  })
  w <- weights(cal)
  list(overall = one(cal), domains = domains,
       weights = list(n = length(w), n_eff = sum(w)^2 / sum(w^2),
                      deff = length(w) / (sum(w)^2 / sum(w^2)), min = min(w), max = max(w),
                      sum = sum(w)))
}
