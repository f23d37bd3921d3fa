#!/usr/bin/env Rscript
# Reference values from R flexsurv 2.3.2 and flexsurvcure 1.3.3 for parity tests of trialrecon's
# survival-model fits (tests read the CSVs written here; they never run R).
#
# Usage, from the repository root:
#   bash ../shared/reference-r/setup.sh             # once per machine (installs the R packages)
#   Rscript tests/reference/make_flexsurv.R [KMDATA_DIR]
# KMDATA_DIR defaults to ../shared/corpus/kmdata relative to the repository root. The shared data
# are read in place, never copied here. Writes, beside this script:
#   flexsurv_per_arm.csv   one-arm fits: 7 flexsurvreg distributions and 6 flexsurvspline models
#   flexsurv_joint.csv     two-arm fits with the arm as a factor covariate
#   flexsurvcure.csv       one-arm mixture cure fits (flexsurvcure, mixture = TRUE, logit link)
#   datasets.csv           the datasets chosen and their arms (reference arm first)
#   versions.csv           R and package versions
# See README.md beside this script for the columns and the parameterisations.
# The environment variable REF_N_DATASETS (default 24) picks fewer datasets for a quick trial run.

.libPaths(c(path.expand("~/.cache/trialrecon-reference-r"), .libPaths()))
suppressPackageStartupMessages({
  library(survival)
  library(flexsurv)
  library(flexsurvcure)
  library(parallel)
})

# ---------------------------------------------------------------------------------------------
# Paths and settings
# ---------------------------------------------------------------------------------------------
file_arg <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else
  file.path(getwd(), "tests", "reference")
repo_root <- normalizePath(file.path(script_dir, "..", ".."))
trailing <- commandArgs(TRUE)
data_dir <- if (length(trailing) >= 1) trailing[1] else
  file.path(repo_root, "..", "shared", "corpus", "kmdata")
data_dir <- normalizePath(data_dir, mustWork = TRUE)
out_dir <- script_dir

N_DATASETS <- as.integer(Sys.getenv("REF_N_DATASETS", "24"))
TAU <- 60                    # restricted mean horizon (months)
SURV_T <- c(12, 24, 60)      # landmark survival, standard and spline models
CURE_T <- c(12, 24, 60, 120) # landmark survival, cure models
STEP_TOL <- 1e-3             # converged: a Newton step would move no estimate by more than 1e-3 SE
CORES <- max(1L, min(2L, parallel::detectCores()))

# ---------------------------------------------------------------------------------------------
# Datasets: index.csv sorted by file name (C locale), evenly spaced picks
# ---------------------------------------------------------------------------------------------
index <- read.csv(file.path(data_dir, "index.csv"), stringsAsFactors = FALSE)
index <- index[order(index$file, method = "radix"), ]
picks <- floor((seq_len(N_DATASETS) - 1) * nrow(index) / 24) + 1
chosen <- index[picks, ]

read_dataset <- function(file) {
  d <- read.csv(file.path(data_dir, file), stringsAsFactors = FALSE)
  arms <- sort(unique(d$arm), method = "radix")   # reference arm: first in C-locale order
  if (length(arms) != 2) stop(file, " does not have two arms")
  if (any(d$time <= 0)) stop(file, " has times <= 0")
  d$arm <- factor(d$arm, levels = arms)
  d
}

# ---------------------------------------------------------------------------------------------
# Fitting with several starting points, a polish and a convergence check
# ---------------------------------------------------------------------------------------------
num <- function(x) if (length(x) == 0) "" else paste(sprintf("%.15g", x), collapse = ";")
first_line <- function(x) substr(gsub("[\r\n]+", " ", x), 1, 160)

# One call of fitfun (a closure around flexsurvreg, flexsurvspline or flexsurvcure that passes
# its ... on); warnings are collected, an error becomes a "fit_error".
try_fit <- function(fitfun, ...) {
  warns <- character()
  fit <- withCallingHandlers(
    tryCatch(fitfun(...), error = function(e) structure(list(msg = conditionMessage(e)),
                                                         class = "fit_error")),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  if (!inherits(fit, "fit_error") && !is.finite(fit$loglik))
    fit <- structure(list(msg = "non-finite log-likelihood"), class = "fit_error")
  attr(fit, "warnings") <- unique(warns)
  fit
}

ok <- function(fit) !inherits(fit, "fit_error")

# coef() with its names also for a one-parameter model (where coef() drops them).
coefs <- function(fit) setNames(fit$res.t[, "est"], rownames(fit$res.t))

# Natural-scale parameters (as flexsurvreg's inits) from a vector on coef()'s scale.
to_natural <- function(fit, b) {
  nb <- length(fit$dlist$pars)
  for (i in seq_len(nb)) b[i] <- fit$dlist$inv.transforms[[i]](b[i])
  b
}

# The fit's log-likelihood and its gradient on coef()'s scale, from flexsurv's own likelihood
# (internal functions, used only for this check): flexsurv's analytic gradient where it has
# one (exp, weibull, weibullPH, gompertz, llogis, splines), else numDeriv's Richardson
# extrapolation.
likelihood_of <- function(fit) {
  Y <- fit$data$Y
  X <- flexsurv:::compress.model.matrices(fit$data$mml)
  n <- nrow(Y)
  args <- list(Y = Y, X = X, weights = rep(1, n), bhazard = rep(0, n), rtrunc = rep(Inf, n),
               dlist = fit$dlist, dfns = fit$dfns, aux = fit$aux, mx = fit$mx)
  f <- function(b) -as.numeric(do.call(flexsurv:::minusloglik.flexsurv,
                                       c(list(optpars = b, inits = b), args)))
  g <- if (isTRUE(fit$dfns$deriv)) function(b)
         -as.numeric(do.call(flexsurv:::Dminusloglik.flexsurv, c(list(optpars = b, inits = b), args)))
       else function(b) numDeriv::grad(f, b)
  list(f = f, g = g, analytic = isTRUE(fit$dfns$deriv))
}

# Distance to the maximum by a Newton step from the estimate: the step C g (C the covariance,
# g the gradient) in units of each parameter's SE, and the log-likelihood it would gain.
newton_check <- function(fit, lik) {
  b <- coefs(fit)
  g <- tryCatch(lik$g(b), error = function(e) rep(NA_real_, length(b)))
  if (!is.matrix(fit$cov) || !all(is.finite(fit$cov)) || !all(is.finite(g)))
    return(list(step = rep(NA_real_, length(b)), step_se = NA_real_, gain = NA_real_, g = g))
  step <- as.vector(fit$cov %*% g)
  se <- sqrt(pmax(diag(fit$cov), .Machine$double.xmin))
  list(step = step, step_se = max(abs(step / se)), gain = 0.5 * sum(g * step), g = g)
}

# Whether the log-likelihood is a smooth surface at the estimate: recomputed, it equals the
# fit's, and no neighbour (each parameter moved by 1e-4 max(1, |b|) on coef()'s scale, where a
# smooth maximum falls by far less than 0.5) lies 0.5 or more below it. This rejects spurious
# maxima where flexsurv's density loses its precision: the generalised gamma at |Q| of 1e-9
# (gamma shape Q^-2 = 1e18) gives log-likelihoods hundreds of thousands too high at that point.
smooth_at <- function(fit) {
  lik <- likelihood_of(fit)
  b <- coefs(fit)
  h <- 1e-4 * pmax(1, abs(b))
  ll0 <- tryCatch(lik$f(b), error = function(e) NA_real_)
  near <- unlist(lapply(seq_along(b), function(i) vapply(c(-1, 1), function(sgn) {
    x <- b; x[i] <- b[i] + sgn * h[i]
    tryCatch(lik$f(x), error = function(e) NA_real_)
  }, 0)))
  is.finite(ll0) && abs(ll0 - fit$loglik) <= 1e-8 * max(1, abs(ll0)) &&
    all(is.finite(near)) && ll0 - min(near) < 0.5
}

hessian_pd <- function(fit) {
  H <- fit$opt$hessian
  if (is.null(H) || !all(is.finite(H))) return(FALSE)
  ev <- eigen((H + t(H)) / 2, symmetric = TRUE, only.values = TRUE)$values
  min(ev) > 0
}

# Fit from each start (NULL: flexsurv's own initial values) by BFGS, and by Nelder-Mead from
# flexsurv's start; keep the highest likelihood; polish it by BFGS with tight tolerances (and
# fine finite-difference steps where flexsurv has no analytic gradient); take Newton steps to the maximum.
fit_best <- function(fitfun, starts, npar) {
  control <- list(maxit = 10000, reltol = 1e-10)
  runs <- list()
  for (nm in names(starts)) {
    s <- starts[[nm]]
    runs[[nm]] <- if (is.null(s)) try_fit(fitfun, method = "BFGS", control = control)
                  else try_fit(fitfun, inits = unname(s), method = "BFGS", control = control)
  }
  if (npar > 1) {
    nmfit <- try_fit(fitfun, method = "Nelder-Mead", control = list(maxit = 20000, reltol = 1e-12))
    if (ok(nmfit))
      runs[["nelder-mead"]] <- try_fit(fitfun, inits = unname(nmfit$res[, "est"]), method = "BFGS",
                                       control = control)
    else runs[["nelder-mead"]] <- nmfit
  }
  good <- Filter(ok, runs)
  smooth <- vapply(good, smooth_at, TRUE)
  rejected <- sum(!smooth)
  rejected_ll <- if (rejected) max(vapply(good[!smooth], function(f) f$loglik, 0)) else NA_real_
  if (any(smooth)) good <- good[smooth]
  if (!length(good)) {
    msgs <- unique(vapply(runs, function(r) r$msg, ""))
    return(list(fit = NULL, start = NA_character_, n_starts = length(runs), n_ok = 0L,
                rejected = 0L, rejected_ll = NA_real_, smooth = NA,
                spread = NA_real_, polished = FALSE, newton = 0L, step_se = NA_real_,
                gain = NA_real_, gradient = NA_character_,
                message = first_line(paste(msgs, collapse = " | "))))
  }
  ll <- vapply(good, function(f) f$loglik, 0)
  conv <- vapply(good, function(f) f$opt$convergence == 0, TRUE)
  best_name <- names(good)[which.max(ll)]
  best <- good[[best_name]]
  polish <- try_fit(fitfun, inits = unname(best$res[, "est"]), method = "BFGS",
                    control = list(maxit = 10000, reltol = 1e-14,
                                   ndeps = rep(1e-5, length(coefs(best)))))
  polished <- ok(polish) && polish$loglik >= best$loglik - 1e-9 && smooth_at(polish)
  fit <- if (polished) polish else best
  # Newton steps towards the maximum while the estimate is more than 1e-4 SE from it; each new
  # point is refitted by flexsurv (so that its covariance is flexsurv's) and kept only if the
  # likelihood does not fall.
  lik <- likelihood_of(fit)
  nc <- newton_check(fit, lik)
  newton <- 0L
  while (newton < 3L && is.finite(nc$step_se) && nc$step_se > 1e-4 && hessian_pd(fit)) {
    b1 <- coefs(fit) + nc$step
    ll1 <- tryCatch(lik$f(b1), error = function(e) NA_real_)
    if (!is.finite(ll1) || ll1 <= fit$loglik) break
    refit <- try_fit(fitfun, inits = unname(to_natural(fit, b1)), method = "BFGS",
                     control = list(maxit = 10000, reltol = 1e-14,
                                    ndeps = rep(1e-5, length(b1))))
    if (!ok(refit) || refit$loglik < fit$loglik || !smooth_at(refit)) break
    fit <- refit
    newton <- newton + 1L
    nc <- newton_check(fit, lik)
  }
  list(fit = fit, start = best_name, n_starts = length(runs), n_ok = length(good),
       rejected = rejected, rejected_ll = rejected_ll, smooth = smooth_at(fit),
       spread = if (any(conv)) max(ll[conv]) - min(ll[conv]) else NA_real_,
       polished = polished, newton = newton, step_se = nc$step_se, gain = nc$gain,
       gradient = if (lik$analytic) "analytic" else "numeric",
       message = first_line(paste(attr(fit, "warnings"), collapse = " | ")))
}

# Columns every table shares: the fit, its estimates and covariance, and convergence.
fit_columns <- function(fb, n) {
  fit <- fb$fit
  if (is.null(fit)) {
    return(data.frame(npars = NA_integer_, loglik = NA_real_, aic = NA_real_, bic = NA_real_,
                      par_names = "", est = "", coef = "", se_coef = "", vcov = "",
                      converged = FALSE, opt_convergence = NA_integer_, hessian_pd = NA,
                      newton_step_se = NA_real_, newton_gain = NA_real_, gradient = NA_character_,
                      start = NA_character_, n_starts = fb$n_starts, n_starts_ok = 0L,
                      n_rejected = fb$rejected, rejected_loglik = fb$rejected_ll, smooth = NA,
                      loglik_spread = NA_real_, polished = NA, newton_steps = 0L,
                      message = fb$message, stringsAsFactors = FALSE))
  }
  cf <- coefs(fit)
  covm <- if (is.matrix(fit$cov)) fit$cov else matrix(NA_real_, length(cf), length(cf))
  pd <- hessian_pd(fit)
  conv <- fit$opt$convergence == 0 && pd && is.finite(fb$step_se) && fb$step_se < STEP_TOL &&
    isTRUE(fb$smooth)
  data.frame(npars = fit$npars, loglik = fit$loglik, aic = fit$AIC,
             bic = -2 * fit$loglik + fit$npars * log(n),
             par_names = paste(names(cf), collapse = ";"), est = num(fit$res[, "est"]),
             coef = num(cf), se_coef = num(sqrt(pmax(diag(covm), 0))), vcov = num(as.vector(covm)),
             converged = conv, opt_convergence = fit$opt$convergence, hessian_pd = pd,
             newton_step_se = fb$step_se, newton_gain = fb$gain, gradient = fb$gradient,
             start = fb$start, n_starts = fb$n_starts, n_starts_ok = fb$n_ok,
             n_rejected = fb$rejected, rejected_loglik = fb$rejected_ll, smooth = fb$smooth,
             loglik_spread = fb$spread, polished = fb$polished, newton_steps = fb$newton,
             message = fb$message, stringsAsFactors = FALSE)
}

summ <- function(fit, type, t, newdata = NULL) {
  if (is.null(fit)) return(rep(NA_real_, length(t)))
  r <- tryCatch(suppressWarnings(
         summary(fit, type = type, t = t, ci = FALSE, tidy = TRUE, newdata = newdata)$est),
       error = function(e) rep(NA_real_, length(t)))
  if (length(r) != length(t)) rep(NA_real_, length(t)) else r
}

# The restricted mean as the integral of flexsurv's survival function with a tight tolerance
# (summary's type = "rmst" integrates with integrate()'s default relative tolerance, 1.2e-4,
# for every model but the exponential).
rmst_tight <- function(fit, tau, newdata = NULL) {
  if (is.null(fit)) return(NA_real_)
  s <- function(x) suppressWarnings(
    summary(fit, type = "survival", t = x, ci = FALSE, tidy = TRUE, newdata = newdata)$est)
  tryCatch(integrate(s, 0, tau, rel.tol = 1e-10, abs.tol = 0, subdivisions = 1000L)$value,
           error = function(e) NA_real_)
}

est_of <- function(fb, par) if (is.null(fb$fit)) NULL else fb$fit$res[par, "est"]

# ---------------------------------------------------------------------------------------------
# a. Per arm: flexsurvreg distributions and flexsurvspline models
# ---------------------------------------------------------------------------------------------
STANDARD <- c("exp", "weibull", "gompertz", "llogis", "lnorm", "gamma", "gengamma")
SPLINES <- expand.grid(k = 1:3, scale = c("hazard", "odds"), stringsAsFactors = FALSE)
MODEL_ORDER <- c("exp", "weibull", "gompertz", "llogis", "lnorm", "gengamma", "gamma",
                 sprintf("spline_%s_k%d", SPLINES$scale, SPLINES$k))

per_arm <- function(d, arm_label, dataset, file) {
  t <- d$time; e <- d$event
  n <- nrow(d); events <- sum(e)
  rate0 <- events / sum(t)
  fits <- list(); rows <- list()
  record <- function(model, call, fb, extra = list()) {
    fit <- fb$fit
    rows[[model]] <<- cbind(
      data.frame(dataset = dataset, file = file, arm = arm_label, model = model, call = call,
                 n = n, events = events, stringsAsFactors = FALSE),
      fit_columns(fb, n),
      data.frame(knots_log = if (!is.null(fit) && !is.null(fit$knots)) num(fit$knots) else "",
                 rmst60 = summ(fit, "rmst", TAU), rmst60_tight = rmst_tight(fit, TAU),
                 s12 = summ(fit, "survival", SURV_T)[1], s24 = summ(fit, "survival", SURV_T)[2],
                 s60 = summ(fit, "survival", SURV_T)[3], stringsAsFactors = FALSE))
  }
  for (dist in STANDARD) {
    fitfun <- local({dd <- d; di <- dist
      function(...) flexsurvreg(Surv(time, event) ~ 1, data = dd, dist = di, ...)})
    starts <- list(default = NULL)
    if (dist == "weibull") starts$exponential <- c(1, 1 / rate0)
    if (dist == "gompertz") {
      starts$rising <- c(1 / max(t), rate0)
      starts$falling <- c(-1 / max(t), rate0)
    }
    if (dist == "llogis") starts$median <- c(1, median(t))
    if (dist == "lnorm") starts$logmoments <- c(mean(log(t)), sd(log(t)))
    if (dist == "gamma") starts$exponential <- c(1, rate0)
    if (dist == "gengamma") {
      w <- fits$weibull; l <- fits$lnorm; g <- fits$gamma
      if (!is.null(w$fit)) starts$weibull <- c(log(est_of(w, "scale")), 1 / est_of(w, "shape"), 1)
      if (!is.null(l$fit)) starts$lnorm <- c(est_of(l, "meanlog"), est_of(l, "sdlog"), 0)
      if (!is.null(g$fit)) {
        a <- est_of(g, "shape"); b <- est_of(g, "rate")
        starts$gamma <- c(log(a / b), 1 / sqrt(a), 1 / sqrt(a))
      }
    }
    npar <- length(flexsurv.dists[[dist]]$pars)
    fits[[dist]] <- fit_best(fitfun, starts, npar)
    record(dist, sprintf('flexsurvreg(Surv(time, event) ~ 1, dist = "%s")', dist), fits[[dist]])
  }
  for (j in seq_len(nrow(SPLINES))) {
    k <- SPLINES$k[j]; sc <- SPLINES$scale[j]
    model <- sprintf("spline_%s_k%d", sc, k)
    fitfun <- local({dd <- d; kk <- k; ss <- sc
      function(...) flexsurvspline(Surv(time, event) ~ 1, data = dd, k = kk, scale = ss, ...)})
    starts <- list(default = NULL)
    base <- if (sc == "hazard") fits$weibull else fits$llogis
    if (!is.null(base$fit)) {
      a <- est_of(base, "shape"); s <- est_of(base, "scale")
      starts[[if (sc == "hazard") "weibull" else "llogis"]] <- c(-a * log(s), a, rep(0, k))
    }
    fits[[model]] <- fit_best(fitfun, starts, k + 2)
    record(model, sprintf('flexsurvspline(Surv(time, event) ~ 1, k = %d, scale = "%s")', k, sc),
           fits[[model]])
  }
  list(rows = do.call(rbind, rows[MODEL_ORDER]), fits = fits)
}

# ---------------------------------------------------------------------------------------------
# b. Two arms, arm as a factor (reference level: first arm in C-locale sort order)
# ---------------------------------------------------------------------------------------------
JOINT <- list(
  exp = list(dist = "exp", on = "rate", effect = "PH (log hazard ratio)"),
  weibull = list(dist = "weibull", on = "scale", effect = "AFT (log time ratio)"),
  weibullPH = list(dist = "weibullPH", on = "scale (hazard-scale)", effect = "PH (log hazard ratio)"),
  gompertz = list(dist = "gompertz", on = "rate", effect = "PH (log hazard ratio)"),
  llogis = list(dist = "llogis", on = "scale", effect = "AFT (log time ratio)"),
  lnorm = list(dist = "lnorm", on = "meanlog", effect = "AFT (log time ratio)"),
  gengamma = list(dist = "gengamma", on = "mu", effect = "AFT (log time ratio)"),
  gamma = list(dist = "gamma", on = "rate", effect = "rate ratio (log), AFT: -log time ratio"),
  spline_hazard_k1 = list(k = 1, scale = "hazard", on = "gamma0", effect = "PH (log hazard ratio)"),
  spline_odds_k1 = list(k = 1, scale = "odds", on = "gamma0", effect = "PO (log odds ratio of failure)")
)

joint <- function(d, dataset, file) {
  lv <- levels(d$arm)
  coefname <- paste0("arm", lv[2])
  n <- nrow(d); events <- sum(d$event)
  fits <- list(); rows <- list()
  for (model in names(JOINT)) {
    spec <- JOINT[[model]]
    if (is.null(spec$k)) {
      fitfun <- local({dd <- d; di <- spec$dist
        function(...) flexsurvreg(Surv(time, event) ~ arm, data = dd, dist = di, ...)})
      npar <- length(flexsurv.dists[[spec$dist]]$pars) + 1
      call <- sprintf('flexsurvreg(Surv(time, event) ~ arm, dist = "%s")', spec$dist)
    } else {
      fitfun <- local({dd <- d; kk <- spec$k; ss <- spec$scale
        function(...) flexsurvspline(Surv(time, event) ~ arm, data = dd, k = kk, scale = ss, ...)})
      npar <- spec$k + 3
      call <- sprintf('flexsurvspline(Surv(time, event) ~ arm, k = %d, scale = "%s")',
                      spec$k, spec$scale)
    }
    starts <- list(default = NULL)
    if (model == "gengamma") {
      w <- fits$weibull; l <- fits$lnorm
      if (!is.null(w$fit)) starts$weibull <- c(log(est_of(w, "scale")), 1 / est_of(w, "shape"), 1,
                                               est_of(w, coefname))
      if (!is.null(l$fit)) starts$lnorm <- c(est_of(l, "meanlog"), est_of(l, "sdlog"), 0,
                                             est_of(l, coefname))
    }
    fb <- fit_best(fitfun, starts, npar)
    fits[[model]] <- fb
    fit <- fb$fit
    tr <- if (!is.null(fit)) fit$res[coefname, ] else c(est = NA, NA, NA, se = NA)
    nd <- function(a) data.frame(arm = factor(a, levels = lv))
    rows[[model]] <- cbind(
      data.frame(dataset = dataset, file = file, model = model, call = call,
                 covariate_on = spec$on, effect = spec$effect, ref_arm = lv[1],
                 other_arm = lv[2], coef_name = coefname, n = n, events = events,
                 stringsAsFactors = FALSE),
      fit_columns(fb, n),
      data.frame(trt_est = unname(tr[1]), trt_se = unname(tr[4]), trt_l95 = unname(tr[2]),
                 trt_u95 = unname(tr[3]), exp_trt = exp(unname(tr[1])),
                 rmst60_ref = summ(fit, "rmst", TAU, nd(lv[1])),
                 rmst60_other = summ(fit, "rmst", TAU, nd(lv[2])),
                 rmst60_tight_ref = rmst_tight(fit, TAU, nd(lv[1])),
                 rmst60_tight_other = rmst_tight(fit, TAU, nd(lv[2])),
                 s60_ref = summ(fit, "survival", 60, nd(lv[1])),
                 s60_other = summ(fit, "survival", 60, nd(lv[2])), stringsAsFactors = FALSE))
  }
  do.call(rbind, rows)
}

# ---------------------------------------------------------------------------------------------
# c. Per arm, mixture cure models (flexsurvcure, mixture = TRUE, logit link on theta)
# ---------------------------------------------------------------------------------------------
CURE <- c("exp", "weibull", "lnorm", "llogis", "gompertz", "gengamma")

cure <- function(d, arm_label, dataset, file, base_fits) {
  n <- nrow(d); events <- sum(d$event)
  rows <- list()
  for (dist in CURE) {
    fitfun <- local({dd <- d; di <- dist
      function(...) flexsurvcure(Surv(time, event) ~ 1, data = dd, dist = di, mixture = TRUE, ...)})
    starts <- list(default = NULL)
    base <- base_fits[[dist]]
    if (!is.null(base$fit)) {
      p <- unname(base$fit$res[, "est"])
      starts$theta0.1 <- c(0.1, p)
      starts$theta0.4 <- c(0.4, p)
    }
    fb <- fit_best(fitfun, starts, length(flexsurv.dists[[dist]]$pars) + 1)
    fit <- fb$fit
    th <- if (!is.null(fit)) fit$res["theta", ] else c(NA, NA, NA, NA)
    s <- summ(fit, "survival", CURE_T)
    rows[[dist]] <- cbind(
      data.frame(dataset = dataset, file = file, arm = arm_label, model = dist,
                 call = sprintf('flexsurvcure(Surv(time, event) ~ 1, dist = "%s", mixture = TRUE)',
                                dist),
                 n = n, events = events, stringsAsFactors = FALSE),
      fit_columns(fb, n),
      data.frame(theta = unname(th[1]), theta_l95 = unname(th[2]), theta_u95 = unname(th[3]),
                 theta_at_bound = !is.na(th[1]) && (th[1] < 1e-4 || th[1] > 1 - 1e-4),
                 rmst60 = summ(fit, "rmst", TAU), rmst60_tight = rmst_tight(fit, TAU),
                 s12 = s[1], s24 = s[2], s60 = s[3], s120 = s[4],
                 stringsAsFactors = FALSE))
  }
  do.call(rbind, rows)
}

# ---------------------------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------------------------
one_dataset <- function(i) {
  row <- chosen[i, ]
  started <- Sys.time()
  d <- read_dataset(row$file)
  pa <- list(); cu <- list()
  for (a in levels(d$arm)) {
    da <- d[d$arm == a, c("time", "event")]
    res <- per_arm(da, a, row$dataset, row$file)
    pa[[a]] <- res$rows
    cu[[a]] <- cure(da, a, row$dataset, row$file, res$fits)
  }
  jo <- joint(d, row$dataset, row$file)
  message(sprintf("%-22s n=%5d  %.0f s", row$dataset, nrow(d),
                  as.numeric(difftime(Sys.time(), started, units = "secs"))))
  list(per_arm = do.call(rbind, pa), joint = jo, cure = do.call(rbind, cu),
       info = data.frame(dataset = row$dataset, file = row$file, n = nrow(d),
                         events = sum(d$event), ref_arm = levels(d$arm)[1],
                         other_arm = levels(d$arm)[2], n_ref = sum(d$arm == levels(d$arm)[1]),
                         n_other = sum(d$arm == levels(d$arm)[2]), outcome = row$outcome,
                         stringsAsFactors = FALSE))
}

t0 <- Sys.time()
results <- mclapply(seq_len(nrow(chosen)), one_dataset, mc.cores = CORES, mc.preschedule = FALSE)
failed <- vapply(results, function(r) inherits(r, "try-error") || is.null(r$per_arm), TRUE)
if (any(failed)) stop("datasets failed: ", paste(chosen$file[failed], collapse = ", "), "\n",
                      paste(vapply(results[failed], as.character, ""), collapse = "\n"))

bind <- function(what) {
  out <- do.call(rbind, lapply(results, `[[`, what))
  rownames(out) <- NULL
  out
}
write.csv(bind("info"), file.path(out_dir, "datasets.csv"), row.names = FALSE)
write.csv(bind("per_arm"), file.path(out_dir, "flexsurv_per_arm.csv"), row.names = FALSE)
write.csv(bind("joint"), file.path(out_dir, "flexsurv_joint.csv"), row.names = FALSE)
write.csv(bind("cure"), file.path(out_dir, "flexsurvcure.csv"), row.names = FALSE)
versions <- data.frame(
  component = c("R", "flexsurv", "flexsurvcure", "survival", "rstpm2", "platform"),
  version = c(paste(R.version$major, R.version$minor, sep = "."),
              format(packageVersion("flexsurv")), format(packageVersion("flexsurvcure")),
              format(packageVersion("survival")), format(packageVersion("rstpm2")),
              R.version$platform))
write.csv(versions, file.path(out_dir, "versions.csv"), row.names = FALSE)
message(sprintf("done: %d datasets in %.1f min", nrow(chosen),
                as.numeric(difftime(Sys.time(), t0, units = "mins"))))
