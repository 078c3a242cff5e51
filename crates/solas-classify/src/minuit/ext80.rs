//! Software emulation of the x87 80-bit `long double` arithmetic (64-bit
//! significand, round to nearest even) that Minuit2's sine limit
//! transformation runs in, plus double-double `sin`/`asin` used to obtain
//! correctly rounded extended-precision values.  Only the operations that the
//! transformation needs are provided; exponents are assumed in normal range.

#[derive(Clone, Copy, Debug)]
pub(crate) struct X {
    neg: bool,
    e: i32,
    m: u64, // value = m * 2^e, top bit set unless zero
}

const HALF: u64 = 1 << 63;

impl X {
    pub(crate) fn zero() -> X {
        X {
            neg: false,
            e: 0,
            m: 0,
        }
    }

    pub(crate) fn from_f64(v: f64) -> X {
        let bits = v.to_bits();
        let neg = bits >> 63 == 1;
        let ex = ((bits >> 52) & 0x7ff) as i32;
        let frac = bits & ((1u64 << 52) - 1);
        if ex == 0 {
            if frac == 0 {
                return X { neg, e: 0, m: 0 };
            }
            let lz = frac.leading_zeros() as i32;
            return X {
                neg,
                e: -1074 - lz,
                m: frac << lz,
            };
        }
        X {
            neg,
            e: ex - 1075 - 11,
            m: (frac | (1u64 << 52)) << 11,
        }
    }

    fn round(neg: bool, m: u128, e: i32, sticky: bool) -> X {
        if m == 0 {
            return X {
                neg: false,
                e: 0,
                m: 0,
            };
        }
        let lz = m.leading_zeros() as i32;
        let m = m << lz;
        let mut e = e - lz + 64;
        let mut hi = (m >> 64) as u64;
        let lo = m as u64;
        let up = lo > HALF || (lo == HALF && (sticky || hi & 1 == 1));
        if up {
            hi = hi.wrapping_add(1);
            if hi == 0 {
                hi = HALF;
                e += 1;
            }
        }
        X { neg, e, m: hi }
    }

    fn mag_ge(a: &X, b: &X) -> bool {
        if a.m == 0 {
            return b.m == 0;
        }
        if b.m == 0 {
            return true;
        }
        a.e > b.e || (a.e == b.e && a.m >= b.m)
    }

    pub(crate) fn add(self, o: X) -> X {
        if self.m == 0 {
            return o;
        }
        if o.m == 0 {
            return self;
        }
        let (big, small) = if X::mag_ge(&self, &o) {
            (self, o)
        } else {
            (o, self)
        };
        let d = (big.e - small.e) as u32;
        let a = (big.m as u128) << 63;
        let sm = (small.m as u128) << 63;
        let (b, sticky) = if d >= 127 {
            (0u128, true)
        } else {
            (sm >> d, d > 0 && sm & ((1u128 << d) - 1) != 0)
        };
        let e = big.e - 63;
        if big.neg == small.neg {
            X::round(big.neg, a + b, e, sticky)
        } else {
            let mut s = a - b;
            if sticky {
                s -= 1;
            }
            X::round(big.neg, s, e, sticky)
        }
    }

    pub(crate) fn neg(self) -> X {
        X {
            neg: !self.neg,
            ..self
        }
    }

    pub(crate) fn sub(self, o: X) -> X {
        self.add(o.neg())
    }

    pub(crate) fn mul(self, o: X) -> X {
        if self.m == 0 || o.m == 0 {
            return X::zero();
        }
        X::round(
            self.neg ^ o.neg,
            self.m as u128 * o.m as u128,
            self.e + o.e,
            false,
        )
    }

    pub(crate) fn div(self, o: X) -> X {
        if self.m == 0 || o.m == 0 {
            // never hit with finite non-degenerate limits; keep IEEE-like behaviour
            return X::from_f64(self.to_f64() / o.to_f64());
        }
        let b = o.m as u128;
        let (num, e) = if self.m >= o.m {
            ((self.m as u128) << 63, self.e - o.e - 63)
        } else {
            ((self.m as u128) << 64, self.e - o.e - 64)
        };
        let q1 = num / b;
        let r1 = num % b;
        let n2 = r1 << 64;
        let q2 = n2 / b;
        let r2 = n2 % b;
        X::round(self.neg ^ o.neg, (q1 << 64) | q2, e - 64, r2 != 0)
    }

    pub(crate) fn gt(self, o: X) -> bool {
        let d = self.sub(o);
        d.m != 0 && !d.neg
    }

    pub(crate) fn is_neg(self) -> bool {
        self.m != 0 && self.neg
    }

    pub(crate) fn to_f64(self) -> f64 {
        if self.m == 0 {
            return if self.neg { -0.0 } else { 0.0 };
        }
        let mut keep = self.m >> 11;
        let rest = self.m & 0x7ff;
        let mut e = self.e + 11;
        if rest > 0x400 || (rest == 0x400 && keep & 1 == 1) {
            keep += 1;
            if keep == 1u64 << 53 {
                keep >>= 1;
                e += 1;
            }
        }
        let biased = e + 52 + 1023;
        let mag = if (1..2047).contains(&biased) {
            f64::from_bits(((biased as u64) << 52) | (keep & ((1u64 << 52) - 1)))
        } else {
            (keep as f64) * 2f64.powi(e)
        };
        if self.neg {
            -mag
        } else {
            mag
        }
    }

    /// Exact conversion of a double-double then a single rounding.
    fn from_dd(d: Dd) -> X {
        X::from_f64(d.0).add(X::from_f64(d.1))
    }

    fn to_dd(self) -> Dd {
        let hi = self.to_f64();
        let lo = self.sub(X::from_f64(hi)).to_f64();
        Dd(hi, lo)
    }
}

// ---- double-double helpers (about 106 significant bits) ----

#[derive(Clone, Copy, Debug)]
struct Dd(f64, f64);

fn two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let bb = s - a;
    let err = (a - (s - bb)) + (b - bb);
    Dd(s, err)
}

fn quick_two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    Dd(s, b - (s - a))
}

fn two_prod(a: f64, b: f64) -> Dd {
    let p = a * b;
    Dd(p, a.mul_add(b, -p))
}

fn dd_add(a: Dd, b: Dd) -> Dd {
    let s = two_sum(a.0, b.0);
    let t = two_sum(a.1, b.1);
    let s = quick_two_sum(s.0, s.1 + t.0);
    quick_two_sum(s.0, s.1 + t.1)
}

fn dd_neg(a: Dd) -> Dd {
    Dd(-a.0, -a.1)
}

fn dd_mul(a: Dd, b: Dd) -> Dd {
    let p = two_prod(a.0, b.0);
    quick_two_sum(p.0, p.1 + (a.0 * b.1 + a.1 * b.0))
}

fn dd_div_f64(a: Dd, b: f64) -> Dd {
    let q1 = a.0 / b;
    let p = two_prod(q1, b);
    let s = two_sum(a.0, -p.0);
    let q2 = (s.0 + (s.1 - p.1 + a.1)) / b;
    quick_two_sum(q1, q2)
}

const PIO2: [f64; 3] = [
    std::f64::consts::FRAC_PI_2,
    6.123233995736766e-17,
    -1.4973849048591698e-33,
];

/// sin and cos of a double-double argument of moderate size.
fn sincos_dd(x: Dd) -> (Dd, Dd) {
    let k = (x.0 / PIO2[0]).round();
    let mut r = x;
    for c in PIO2 {
        r = dd_add(r, dd_neg(two_prod(k, c)));
    }
    let r2 = dd_mul(r, r);
    // Taylor series; |r| <= pi/4 (+tiny)
    let mut s = r;
    let mut term = r;
    let mut c = Dd(1.0, 0.0);
    let mut cterm = Dd(1.0, 0.0);
    let mut n = 1.0;
    for _ in 0..30 {
        term = dd_div_f64(dd_mul(term, r2), -((n + 1.0) * (n + 2.0)));
        cterm = dd_div_f64(dd_mul(cterm, r2), -(n * (n + 1.0)));
        s = dd_add(s, term);
        c = dd_add(c, cterm);
        n += 2.0;
        if term.0.abs() < 1e-40 && cterm.0.abs() < 1e-40 {
            break;
        }
    }
    match (k as i64).rem_euclid(4) {
        0 => (s, c),
        1 => (c, dd_neg(s)),
        2 => (dd_neg(s), dd_neg(c)),
        _ => (dd_neg(c), s),
    }
}

/// `sinl` of a double argument, rounded to extended precision.
pub(crate) fn sinl(v: f64) -> X {
    if !v.is_finite() {
        return X::from_f64(f64::NAN);
    }
    X::from_dd(sincos_dd(Dd(v, 0.0)).0)
}

/// `asinl` of an extended argument in [-1, 1], rounded to extended precision.
pub(crate) fn asinl(v: X) -> X {
    let x = v.to_dd();
    if !(x.0.abs() <= 1.0) {
        return X::from_f64(f64::NAN);
    }
    let mut y = Dd(x.0.asin(), 0.0);
    for _ in 0..3 {
        let (s, c) = sincos_dd(y);
        let diff = dd_add(s, dd_neg(x));
        if c.0 == 0.0 {
            break;
        }
        let corr = (diff.0 + diff.1) / c.0;
        y = dd_add(y, Dd(-corr, 0.0));
    }
    X::from_dd(y)
}

/// pi/2 rounded to extended precision (what `2*atanl(1)` gives).
pub(crate) fn pio2_ext() -> X {
    X::from_dd(Dd(PIO2[0], PIO2[1]))
}
