# Reference values from R survey for tests/analysis (run from the repository root):
#   Rscript tests/analysis/r/reference.R
# Writes tests/analysis/data/api*.csv and tests/analysis/reference/reference.json.
suppressMessages({library(survey); library(jsonlite)})
options(survey.lonely.psu = "fail")
out_dir <- "tests/analysis/reference"
data_dir <- "tests/analysis/data"
data(api)
cols <- c("cds", "stype", "cname", "dnum", "snum", "pw", "fpc", "api00", "api99",
          "enroll", "sch.wide", "comp.imp", "awards", "meals")
write.csv(apistrat[, cols], file.path(data_dir, "apistrat.csv"), row.names = FALSE)
write.csv(apiclus1[, cols], file.path(data_dir, "apiclus1.csv"), row.names = FALSE)
write.csv(apiclus2[, c(setdiff(cols, "fpc"), "fpc1", "fpc2")],
          file.path(data_dir, "apiclus2.csv"), row.names = FALSE)

stat <- function(m) list(estimate = unname(coef(m)), se = unname(SE(m)))
by_stat <- function(b) list(estimate = unname(coef(b)), se = unname(SE(b)),
                            cov = unname(vcov(b)))
# svyby(covmat = TRUE) fails on calibrated designs in survey 4.1: the same joint covariance of
# domain means as ratios, of domain totals as totals of y·1{domain}
by_ratio <- function(design) {
  design <- update(design, y_no = api00 * (awards == "No"), y_yes = api00 * (awards == "Yes"),
                   z_no = as.numeric(awards == "No"), z_yes = as.numeric(awards == "Yes"))
  r <- svyratio(~y_no + y_yes, ~z_no + z_yes, design, covmat = TRUE)
  est <- coef(r)[c("y_no/z_no", "y_yes/z_yes")]
  v <- vcov(r)[c("y_no/z_no", "y_yes/z_yes"), c("y_no/z_no", "y_yes/z_yes")]
  list(estimate = unname(est), se = unname(sqrt(diag(v))), cov = unname(v))
}
by_total <- function(design) {
  design <- update(design, t_no = enroll * (comp.imp == "No"), t_yes = enroll * (comp.imp == "Yes"))
  m <- svytotal(~t_no + t_yes, design)
  list(estimate = unname(coef(m)), se = unname(SE(m)), cov = unname(vcov(m)))
}
res <- list()

## stratified (apistrat), with and without fpc
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
dstrat_fpc <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
res$apistrat <- list(
  mean_api00 = stat(svymean(~api00, dstrat)),
  total_enroll = stat(svytotal(~enroll, dstrat)),
  mean_api00_fpc = stat(svymean(~api00, dstrat_fpc)),
  total_enroll_fpc = stat(svytotal(~enroll, dstrat_fpc)),
  by_awards = by_stat(svyby(~api00, ~awards, dstrat, svymean, covmat = TRUE)),
  by_cname_total = by_stat(svyby(~enroll, ~comp.imp, dstrat, svytotal, covmat = TRUE)),
  degf = degf(dstrat)
)

## one-stage cluster (apiclus1) with fpc; two-stage (apiclus2) as ultimate clusters
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dclus1_wr <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
dclus2 <- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)
res$apiclus1 <- list(
  mean_api00 = stat(svymean(~api00, dclus1)),
  mean_api00_wr = stat(svymean(~api00, dclus1_wr)),
  total_enroll = stat(svytotal(~enroll, dclus1)),
  by_stype = by_stat(svyby(~api00, ~stype, dclus1, svymean, covmat = TRUE)),
  degf = degf(dclus1)
)
clus1_raked <- calibrate(dclus1_wr, ~stype + sch.wide,
                         population = c(`(Intercept)` = nrow(apipop),
                                        stypeH = unname(table(apipop$stype)["H"]),
                                        stypeM = unname(table(apipop$stype)["M"]),
                                        sch.wideYes = unname(table(apipop$sch.wide)["Yes"])),
                         calfun = "raking", epsilon = 1e-13, maxit = 200)
res$apiclus1$raked <- list(
  weights = unname(weights(clus1_raked)),
  mean_api00 = stat(svymean(~api00, clus1_raked)),
  by_awards = by_ratio(clus1_raked)
)
res$apiclus2 <- list(
  mean_api00 = stat(svymean(~api00, dclus2)),
  mean_enroll_narm = stat(svymean(~enroll, dclus2, na.rm = TRUE)),
  by_stype = by_stat(svyby(~api00, ~stype, dclus2, svymean, covmat = TRUE)),
  degf = degf(dclus2)
)

## raking / calibration of apistrat to stype and sch.wide (population from apipop)
pop_stype <- table(apipop$stype)
pop_sw <- table(apipop$sch.wide)
pop <- c(`(Intercept)` = nrow(apipop), stypeH = unname(pop_stype["H"]),
         stypeM = unname(pop_stype["M"]), sch.wideYes = unname(pop_sw["Yes"]))
raked <- calibrate(dstrat, ~stype + sch.wide, population = pop, calfun = "raking",
                   epsilon = 1e-13, maxit = 200)
bounded <- calibrate(dstrat, ~stype + sch.wide + comp.imp,
                     population = c(pop, comp.impYes = unname(table(apipop$comp.imp)["Yes"])),
                     calfun = "raking", bounds = c(0.5, 1.5), epsilon = 1e-13, maxit = 500)
props <- list()
for (method in c("logit", "beta", "mean", "asin", "xlogit")) {
  overall <- svyciprop(~I(api00 > 700), raked, method = method)
  sub <- subset(raked, awards == "Yes")
  dom <- svyciprop(~I(api00 > 700), sub, method = method)
  props[[method]] <- list(
    overall = list(p = as.numeric(overall), se = unname(sqrt(attr(overall, "var"))),
                   ci = unname(attr(overall, "ci"))),
    awards_yes = list(p = as.numeric(dom), se = unname(sqrt(attr(dom, "var"))),
                      ci = unname(attr(dom, "ci")), degf = degf(sub), nrow = nrow(sub))
  )
}
res$raking <- list(
  population = list(stype = as.list(pop_stype), sch.wide = as.list(pop_sw)),
  weights = unname(weights(raked)),
  mean_api00 = stat(svymean(~api00, raked)),
  total_enroll = stat(svytotal(~enroll, raked)),
  by_awards = by_ratio(raked),
  by_cname_total = by_total(raked),
  comp_imp = as.list(table(apipop$comp.imp)),
  bounded_weights = unname(weights(bounded)),
  bounded_mean_api00 = stat(svymean(~api00, bounded)),
  proportions = props
)

## replicate weights: JKn and bootstrap (replicate matrix exported), raked per replicate
jk <- as.svrepdesign(dstrat, type = "JKn")
set.seed(20260301)
bs <- as.svrepdesign(dstrat, type = "bootstrap", replicates = 60)
jk_raked <- calibrate(jk, ~stype + sch.wide, population = pop, calfun = "raking",
                      epsilon = 1e-13, maxit = 200)
bs_raked <- calibrate(bs, ~stype + sch.wide, population = pop, calfun = "raking",
                      epsilon = 1e-13, maxit = 200)
res$replicate <- list(
  jkn = list(mean_api00 = stat(svymean(~api00, jk)), scale = jk$scale,
             rscales = unname(jk$rscales),
             by_awards = by_stat(svyby(~api00, ~awards, jk, svymean, covmat = TRUE)),
             raked_mean_api00 = stat(svymean(~api00, jk_raked))),
  bootstrap = list(mean_api00 = stat(svymean(~api00, bs)), scale = bs$scale,
                   rscales = unname(bs$rscales),
                   raked_mean_api00 = stat(svymean(~api00, bs_raked)))
)
write.csv(weights(bs, "analysis"), file.path(data_dir, "apistrat_bootstrap_weights.csv"),
          row.names = FALSE)

## the satisfaction data set, as `participation estimate` computes it
source("tests/analysis/r/estimate.R")
res$satisfaction <- list()
for (method in c("logit", "wilson", "korn-graubard")) {
  res$satisfaction[[method]] <- estimate_like_cli(
    file.path(data_dir, "satisfaction.csv"), file.path(data_dir, "satisfaction_margins.csv"),
    by = "street", stratum = "street", weight = "weight", score = "score",
    satisfied_at = 80, method = method)
}
res$satisfaction_by_sex <- estimate_like_cli(
  file.path(data_dir, "satisfaction.csv"), file.path(data_dir, "satisfaction_margins.csv"),
  by = "sex", stratum = "street", weight = "weight", score = "score",
  satisfied_at = 60, method = "logit")

writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = FALSE),
           file.path(out_dir, "reference.json"))
