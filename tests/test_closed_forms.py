"""Two-class closed form against the numbers derived in docs/method.md (eq. 12), and Biroli et al.'s t_S."""

import numpy as np
import pytest

from entropic.theory import noise, closed_forms
from entropic.method import speciation


def test_speciation_time_and_sigma():
    assert closed_forms.speciation_time(np.e ** 2) == pytest.approx(1.0)
    assert closed_forms.speciation_sigma(101.0) == pytest.approx(10.0)
    # sigma_S is t_S in EDM coordinates.
    assert noise.sigma_to_vp_time(closed_forms.speciation_sigma(50.0)) == pytest.approx(closed_forms.speciation_time(50.0))


def test_entropy_of_snr_endpoints():
    assert closed_forms.two_class_entropy_of_snr(0.0) == pytest.approx(np.log(2), abs=1e-12)
    assert closed_forms.two_class_entropy_of_snr(200.0) < 1e-20
    s = np.logspace(-3, 2, 50)
    assert np.all(np.diff(closed_forms.two_class_entropy_of_snr(s)) < 0)


def test_rate_is_derivative_of_entropy():
    sigma = np.array([0.5, 3.0, 10.0, 40.0])
    h = 1e-5
    numeric = (closed_forms.two_class_entropy(sigma + h, 400.0) - closed_forms.two_class_entropy(sigma - h, 400.0)) / (2 * h)
    np.testing.assert_allclose(closed_forms.two_class_rate(sigma, 400.0), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize('mean_sq_norm', [1e2, 1e4, 1e6])
def test_vp_window_shape_is_independent_of_d(mean_sq_norm):
    # docs/method.md eq. 12: peak of |dH/dt| at 1/2 log|m|^2 - 0.21, height 0.48 nats per unit t,
    # FWHM 1.31, H(t*) = 0.26, for every d.
    w = speciation.two_class_windows(mean_sq_norm)['t']
    assert w['peak'] - 0.5 * np.log(mean_sq_norm) == pytest.approx(-0.21, abs=0.005)
    assert w['peak_rate'] == pytest.approx(0.48, abs=0.005)
    assert w['width'] == pytest.approx(1.31, abs=0.005)
    t_star = w['peak']
    assert closed_forms.two_class_entropy(noise.vp_time_to_sigma(t_star), mean_sq_norm) == pytest.approx(0.26, abs=0.005)


@pytest.mark.parametrize('mean_sq_norm', [1e2, 1e4, 1e6])
def test_ve_window_has_no_sharpening(mean_sq_norm):
    # docs/method.md eq. 12: dH/dsigma peaks near 0.64 |m| with FWHM about 1.2 sigma*; dH/dlog sigma near 0.81 sqrt(Lambda - 1).
    windows = speciation.two_class_windows(mean_sq_norm)
    w = windows['sigma']
    assert w['peak'] / np.sqrt(mean_sq_norm) == pytest.approx(0.64, abs=0.01)
    assert w['width'] / w['peak'] == pytest.approx(1.2, abs=0.03)
    assert np.exp(windows['log_sigma']['peak']) / np.sqrt(mean_sq_norm) == pytest.approx(0.81, abs=0.01)


def test_vp_relative_width_shrinks_like_inverse_log_d():
    # 0.63, 0.30, 0.20 for |m|^2 = 1e2, 1e4, 1e6 (docs/method.md eq. 12).
    rel = [speciation.two_class_windows(m2)['t']['width'] / speciation.two_class_windows(m2)['t']['peak'] for m2 in (1e2, 1e4, 1e6)]
    np.testing.assert_allclose(rel, [0.63, 0.30, 0.20], atol=0.01)


def test_collision_probability_against_quadrature_in_the_means_direction():
    # phi = E[p(+|y)^2 + p(-|y)^2] with y = the projection on m/|m|: y ~ N(+-|m|, v0 + sigma^2) and
    # p(+|y) = sigmoid(2 |m| y / (v0 + sigma^2)); scipy's adaptive quadrature, independent of Gauss-Hermite.
    from scipy.integrate import quad
    from scipy.special import expit
    from scipy.stats import norm
    mean_sq_norm, variance = 30.0, 0.7
    for sigma in (0.5, 3.0, 6.0, 20.0):
        v, m = variance + sigma ** 2, np.sqrt(mean_sq_norm)

        def integrand(y):
            p = expit(2 * m * y / v)
            return norm.pdf(y, m, np.sqrt(v)) * (p ** 2 + (1 - p) ** 2)   # by symmetry, class + alone

        reference = quad(integrand, m - 40 * np.sqrt(v), m + 40 * np.sqrt(v), epsabs=1e-13, limit=400)[0]
        # 160-node Gauss-Hermite on sech^2: measured error below 1e-9.
        assert closed_forms.two_class_collision(sigma, mean_sq_norm, variance) == pytest.approx(reference, abs=1e-8)


def test_collision_probability_endpoints_and_the_075_reading():
    assert closed_forms.two_class_collision(1e8, 100.0) == pytest.approx(0.5, abs=1e-12)
    assert closed_forms.two_class_collision(1e-3, 100.0) == pytest.approx(1.0, abs=1e-12)
    # Biroli et al. read t_S where phi = 0.775: phi at s = |m|^2 / (v0 + sigma^2) = 1, i.e. at t_S = 1/2 log Lambda
    # when Lambda = v0 + |m|^2 is large (s = |m|^2 / Lambda there).
    assert closed_forms.two_class_collision(np.sqrt(100.0 - 1.0), 100.0) == pytest.approx(0.7752, abs=1e-4)
    d = 256
    assert closed_forms.two_class_collision(closed_forms.speciation_sigma(1.0 + d), float(d)) == pytest.approx(0.775, abs=1e-3)
