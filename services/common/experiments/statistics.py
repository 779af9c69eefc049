"""Results of a conversion experiment (rates, uplift, p-value, intervals, chance to win, SRM) as gbstats has them."""

# How to read the figures. Variant 0 is the control; every other variant is compared with it alone.
# - rate: conversions / users, the share of exposed users who converted at least once.
# - uplift: the relative change of the rate, rate / control rate − 1 (0.05 reads "+5 %").
# - Frequentist (GrowthBook's two-sided t-test, no sequential correction):
#   upliftInterval is the 95 % confidence interval of the uplift and pValue the chance of an uplift at least this
#   large, either way, if the variant truly changed nothing. p < 0.05 is the usual "significant"; looking at the
#   figures every day and stopping at the first p < 0.05 overstates confidence.
# - Bayesian (GrowthBook's effect model with its default flat prior): chanceToWin is the probability that the
#   variant's true rate beats the control's, credibleInterval holds the true uplift with 95 % probability, and
#   risk is the uplift expected to be lost by shipping the variant if it is in fact worse (controlRisk: by keeping
#   the control if the variant is in fact better). GrowthBook suggests shipping at a chance to win of 95 %.
# - srmPValue: whether the users split as the weights say (chi-square test). srmDetected (p < 0.001) means the
#   assignment or the exposure logging is broken for this experiment: do not trust any other figure until fixed.
# - None means "not defined by these counts", where gbstats returns placeholders (p = 1, chance 0.5, [0, 0]):
#   a variant without users has no rate; a control rate of 0 gives no uplift; and a rate of 0 or 1 in either
#   variant leaves no variance to estimate, so no p-value, interval, chance to win or risk.
# The uplift's variance comes from the delta method, the t-test's degrees of freedom from Welch–Satterthwaite.
# A rate's variance is p(1 − p) without Bessel's correction, as gbstats' ProportionStatistic computes it.

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

ALPHA = 0.05  # 95 % intervals, gbstats' default
SRM_THRESHOLD = 0.001  # GrowthBook's default p-value below which a split is flagged

_EPSILON = 1e-15
_TINY = 1e-300
_MAX_ITERATIONS = 1_000_000
_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class VariantCounts:
    """What was counted for one variant: unique exposed users, and how many of them converted."""

    users: int
    conversions: int

    def __post_init__(self) -> None:
        if self.users < 0 or not 0 <= self.conversions <= self.users:
            raise ValueError(f"need 0 <= conversions <= users, got {self.conversions} of {self.users}")


@dataclass(frozen=True)
class VariantResult:
    """One variant's figures; the comparison fields are None for the control and where undefined (see above)."""

    users: int
    conversions: int
    rate: float | None
    uplift: float | None = None
    uplift_interval: tuple[float, float] | None = None
    p_value: float | None = None
    credible_interval: tuple[float, float] | None = None
    chance_to_win: float | None = None
    risk: float | None = None
    control_risk: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "conversions": self.conversions,
            "rate": self.rate,
            "uplift": self.uplift,
            "upliftInterval": list(self.uplift_interval) if self.uplift_interval else None,
            "pValue": self.p_value,
            "credibleInterval": list(self.credible_interval) if self.credible_interval else None,
            "chanceToWin": self.chance_to_win,
            "risk": self.risk,
            "controlRisk": self.control_risk,
        }


@dataclass(frozen=True)
class ExperimentResults:
    """Every variant's figures (the control first) and the sample ratio mismatch check of the whole split."""

    variants: tuple[VariantResult, ...]
    srm_p_value: float
    srm_detected: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "variants": [variant.as_json() for variant in self.variants],
            "srmPValue": self.srm_p_value,
            "srmDetected": self.srm_detected,
        }


# --- special functions (stdlib only) ---


def _log_gamma_ratio(a: float, b: float) -> float:
    """log Γ(a + b) − log Γ(a). For large a, lgamma's two huge values would cancel and lose ~|log Γ(a)|·1e-16,
    which at a million users is 1e-9 of every p-value; Stirling's series on the difference keeps full precision."""
    if a < 100:
        return math.lgamma(a + b) - math.lgamma(a)

    def correction(x: float) -> float:
        x2 = x * x
        return (1 / 12 - (1 / 360 - (1 / 1260 - 1 / (1680 * x2)) / x2) / x2) / x

    return (a - 0.5) * math.log1p(b / a) + b * math.log(a + b) - b + correction(a + b) - correction(a)


def _log_beta(a: float, b: float) -> float:
    big, small = max(a, b), min(a, b)
    return math.lgamma(small) - _log_gamma_ratio(big, small)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    # The continued fraction of I_x(a, b), evaluated by the modified Lentz method; converges fast for
    # x < (a + 1) / (a + b + 2).
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    fraction = d
    for m in range(1, _MAX_ITERATIONS):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            fraction *= c * d
        if abs(c * d - 1.0) < _EPSILON:
            break
    return fraction


def regularized_beta(a: float, b: float, x: float, y: float | None = None) -> float:
    """I_x(a, b), the regularized incomplete beta function; pass y = 1 − x when it is known more precisely."""
    y = 1.0 - x if y is None else y
    if x <= 0:
        return 0.0
    if y <= 0:
        return 1.0
    log_x = math.log(x) if x < 0.5 else math.log1p(-y)
    log_y = math.log(y) if y < 0.5 else math.log1p(-x)
    front = math.exp(a * log_x + b * log_y - _log_beta(a, b))
    if x < (a + 1) / (a + b + 2):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, y) / b


_ODD_FACTORIALS = [float(math.factorial(2 * k + 1)) for k in range(32)]  # (2k + 1)!


def _regularized_beta_large_a(a: float, b: float, x: float, y: float) -> float:
    """I_x(a, b) for large a and b ≤ 1 by DiDonato & Morris's asymptotic expansion (BGRAT, ACM TOMS 708, eqs. 9
    to 9.6), a series in incomplete gamma functions. The t-test at thousands of users needs exactly this corner,
    x = ν/(ν + t²) within 1/ν of 1, where the continued fraction cancels and loses up to 1e-9 (at 10⁸ users)."""
    half_b_minus_one = (b - 1) / 2
    t_param = a + half_b_minus_one
    log_x = math.log1p(-y) if y < 0.35 else math.log(x)
    u = -t_param * log_x
    if u <= 0:
        return 1.0
    h = math.exp(b * math.log(u) - u - math.lgamma(b))
    if h == 0:
        return 0.0  # below ~1e-300
    prefix = h * math.exp(_log_gamma_ratio(a, b)) / t_param**b
    j = _regularized_gamma_upper(b, u) / h  # J_0 of eq. 9.6
    total = prefix * j
    p = [1.0]  # the p_n of eq. 9.3, each built from all the previous ones
    log_x_half_squared = (log_x / 2) ** 2
    log_power = 1.0
    b_2n = b
    for n in range(1, len(_ODD_FACTORIALS) - 1):
        p_n = sum((m * b - n) * p[n - m] / _ODD_FACTORIALS[m] for m in range(1, n))
        p.append(p_n / n + 2 * half_b_minus_one / _ODD_FACTORIALS[n])
        j = (b_2n * (b_2n + 1) * j + (u + b_2n + 1) * log_power) / (4 * t_param * t_param)
        log_power *= log_x_half_squared
        b_2n += 2
        term = prefix * p[n] * j
        total += term
        if abs(term) <= abs(total) * _EPSILON / 10:
            break
    return total


def student_t_sf(t: float, dof: float) -> float:
    """P(T > t) for Student's t with `dof` (real, > 0) degrees of freedom, to ~1e-13 relative."""
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    t2 = t * t
    x, y = dof / (dof + t2), t2 / (dof + t2)
    incomplete_beta = _regularized_beta_large_a if dof >= 30 else regularized_beta
    two_sided = incomplete_beta(dof / 2, 0.5, x, y)
    return 0.5 * two_sided if t >= 0 else 1.0 - 0.5 * two_sided


def _student_t_pdf(t: float, dof: float) -> float:
    return math.exp(-(dof + 1) / 2 * math.log1p(t * t / dof) - 0.5 * math.log(dof) - _log_beta(dof / 2, 0.5))


def student_t_quantile(p: float, dof: float) -> float:
    """The t with P(T ≤ t) = p: Newton's method on the exact tail from a Cornish–Fisher start, kept inside a
    bracket (bisecting when a step leaves it) so heavy tails at few degrees of freedom cannot make it diverge."""
    if not 0 < p < 1:
        return -math.inf if p <= 0 else math.inf
    if p < 0.5:
        return -student_t_quantile(1 - p, dof)
    tail = 1 - p
    if tail >= 0.5:
        return 0.0
    z = _STANDARD_NORMAL.inv_cdf(p)
    t = (
        z
        + (
            (z**3 + z) / 4
            + ((5 * z**5 + 16 * z**3 + 3 * z) / 96 + ((3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384) / dof) / dof
        )
        / dof
    )
    low, high = 0.0, math.inf
    for _ in range(200):
        excess = student_t_sf(t, dof) - tail
        if excess == 0:
            return t
        if excess > 0:
            low = t
        else:
            high = t
        candidate = t + excess / _student_t_pdf(t, dof)
        if not low < candidate < high:
            candidate = (low + high) / 2 if math.isfinite(high) else 2 * t
        if abs(candidate - t) <= 4 * _EPSILON * t:
            return candidate
        t = candidate
    return t


def _normal_cdf(z: float) -> float:
    # statistics.NormalDist.cdf goes through erf and so returns 0 for anything below ~1e-17; erfc keeps the
    # lower tail to full relative precision (a chance to win of 1e-40 is 1e-40, as in scipy)
    return 0.5 * math.erfc(-z / math.sqrt(2))


def _regularized_gamma_upper(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x) / Γ(a): a series for P = 1 − Q below a + 1, a Lentz continued fraction for Q above."""
    if x <= 0:
        return 1.0
    front = math.exp(a * math.log(x) - x - math.lgamma(a))
    if x < a + 1:
        term = total = 1.0 / a
        denominator = a
        while abs(term) > abs(total) * _EPSILON:
            denominator += 1
            term *= x / denominator
            total += term
        return max(0.0, 1.0 - front * total)
    b = x + 1 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    fraction = d
    for i in range(1, _MAX_ITERATIONS):
        numerator = -i * (i - a)
        b += 2
        d = numerator * d + b
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = b + numerator / c
        c = c if abs(c) > _TINY else _TINY
        fraction *= c * d
        if abs(c * d - 1.0) < _EPSILON:
            break
    return front * fraction


def chi_square_sf(x: float, dof: int) -> float:
    """P(X > x) for the chi-square distribution with `dof` (≥ 1) degrees of freedom."""
    return _regularized_gamma_upper(dof / 2, x / 2)


# --- the experiment figures ---


def sample_ratio_mismatch(users: Sequence[int], weights: Sequence[float]) -> float:
    """The chi-square goodness-of-fit p-value of the observed users against the weights (gbstats' check_srm).
    Variants with a weight ≤ 0 add nothing to the statistic but still count as a degree of freedom, as there.
    1.0 without users or with a single variant (gbstats returns NaN for one variant: nothing to mismatch)."""
    if len(users) != len(weights):
        raise ValueError(f"{len(users)} user counts for {len(weights)} weights")
    observed = sum(users)
    if not observed or len(users) < 2:
        return 1.0
    weight_total = sum(weights)
    statistic = 0.0
    for count, weight in zip(users, weights, strict=True):
        if weight <= 0:
            continue
        expected = weight / weight_total * observed
        statistic += (count - expected) ** 2 / expected
    return chi_square_sf(statistic, len(users) - 1)


def _rate(counts: VariantCounts) -> float | None:
    return counts.conversions / counts.users if counts.users else None


def _compare(control: VariantCounts, variant: VariantCounts, alpha: float) -> VariantResult:
    rate_a, rate_b = _rate(control), _rate(variant)
    result = VariantResult(variant.users, variant.conversions, rate_b)
    if rate_a is None or rate_b is None or rate_a == 0:
        return result
    uplift = (rate_b - rate_a) / rate_a
    var_a, var_b = rate_a * (1 - rate_a), rate_b * (1 - rate_b)
    n_a, n_b = control.users, variant.users
    if var_a <= 0 or var_b <= 0:
        return VariantResult(variant.users, variant.conversions, rate_b, uplift)

    # Delta method: the variance of (b − a) / a for independent sample means a and b
    variance = var_b / (rate_a**2 * n_b) + var_a * rate_b**2 / (rate_a**4 * n_a)
    std_error = math.sqrt(variance)
    # Welch–Satterthwaite on the two samples' variances (both rates strictly inside (0, 1), so n ≥ 2 each)
    dof = (var_b / n_b + var_a / n_a) ** 2 / (var_b**2 / (n_b**2 * (n_b - 1)) + var_a**2 / (n_a**2 * (n_a - 1)))
    p_value = 2 * student_t_sf(abs(uplift / std_error), dof)
    half_width = student_t_quantile(1 - alpha / 2, dof) * std_error

    # Flat prior: the posterior of the uplift is Normal(uplift, std_error), so the credible interval uses z, not t
    z = _STANDARD_NORMAL.inv_cdf(1 - alpha / 2)
    ratio = uplift / std_error
    density = std_error * _STANDARD_NORMAL.pdf(ratio)
    return VariantResult(
        users=variant.users,
        conversions=variant.conversions,
        rate=rate_b,
        uplift=uplift,
        uplift_interval=(uplift - half_width, uplift + half_width),
        p_value=min(p_value, 1.0),
        credible_interval=(uplift - z * std_error, uplift + z * std_error),
        chance_to_win=_normal_cdf(ratio),
        # E[max(−U, 0)] and E[max(U, 0)] for U ~ Normal(uplift, std_error): the truncated-normal means gbstats
        # weights by their probabilities, in closed form
        risk=density - uplift * _normal_cdf(-ratio),
        control_risk=density + uplift * _normal_cdf(ratio),
    )


def results(
    variants: Sequence[VariantCounts], weights: Sequence[float] | None = None, alpha: float = ALPHA
) -> ExperimentResults:
    """Every variant against variant 0 (the control), and the SRM check against `weights` (default: equal split).
    Never raises on counts: figures the counts leave undefined are None (see the notes at the top)."""
    split = list(weights) if weights is not None else [1.0] * len(variants)
    srm_p_value = sample_ratio_mismatch([v.users for v in variants], split)
    if not variants:
        return ExperimentResults((), srm_p_value, srm_detected=False)
    control = variants[0]
    figures = (
        VariantResult(control.users, control.conversions, _rate(control)),
        *(_compare(control, variant, alpha) for variant in variants[1:]),
    )
    return ExperimentResults(figures, srm_p_value, srm_detected=srm_p_value < SRM_THRESHOLD)
