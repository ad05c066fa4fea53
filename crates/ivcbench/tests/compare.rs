//! `ivcbench compare` on captures whose difference is known by construction: a copy shifted by
//! 25%, an identical copy, a copy shifted by 0.2% (far within the noise). The statistics it prints
//! are checked against an independent computation here: quantiles by R's type 7 written from its
//! definition, the Mann-Whitney U and Cliff's delta by counting every pair, and the bootstrap
//! interval by resampling for real (the tool draws resampled order statistics instead).

mod common;

use common::ivcbench;
use ivc_proto::capture::Encoder;
use std::path::Path;

/// A deterministic pseudo-random stream (xorshift64).
struct Rng(u64);
impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Round trips shaped like a board's: a body around 6 µs with ±10% spread and a 2% tail up to
/// 4x, in ticks of a 62.5 MHz counter.
fn round_trips(n: usize, seed: u64) -> Vec<u64> {
    let mut r = Rng(seed | 1);
    (0..n)
        .map(|_| {
            let body = 6000.0 * (0.9 + 0.2 * (r.unit() + r.unit() + r.unit()) / 3.0);
            let tail = if r.unit() < 0.02 { 6000.0 * 3.0 * r.unit() } else { 0.0 };
            ((body + tail) / 16.0).round() as u64
        })
        .collect()
}

/// An ivcbench notif capture of these round trips, as the guests print it, with a minicom-style
/// prompt around it.
fn capture(rtt: &[u64]) -> String {
    let mut out = String::from("Press 's' to start\r\n");
    {
        let mut e = Encoder::new("tx", 1, |l: &str| {
            out.push_str(l);
            out.push_str("\r\n");
        });
        e.header(&[("v", &1), ("exp", &"notif"), ("cfg", &""), ("hyp", &"baremetal"), ("plat", &"zcu104")]);
        e.header(&[("role", &"tx"), ("freq", &62_500_000u64), ("n", &(rtt.len() as u64)), ("warm", &0), ("gap_ns", &1000)]);
        e.header(&[("build", &"test"), ("cols", &"rtt")]);
        e.header_done();
        for &v in rtt {
            e.sample(&[v]);
        }
        e.end(&[]);
    }
    out + "Press 's' to start\r\n"
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// R's type 7 (numpy's default): 1-based h = (n - 1) p + 1, between x[⌊h⌋] and x[⌊h⌋ + 1].
fn type7(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() as f64 - 1.0) * p + 1.0;
    let j = h.floor() as usize;
    let x = |i: usize| sorted[i.min(sorted.len()) - 1];
    x(j) + (h - j as f64) * (x(j + 1) - x(j))
}

fn ns(ticks: &[u64]) -> Vec<f64> {
    let mut v: Vec<f64> = ticks.iter().map(|&t| t as f64 * 16.0).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// (U of A: pairs a > b plus half the ties; Cliff's delta of B against A), by counting pairs.
fn pairs(a: &[f64], b: &[f64]) -> (f64, f64) {
    let (mut gt, mut lt, mut eq) = (0u64, 0u64, 0u64);
    for x in a {
        for y in b {
            match x.partial_cmp(y).unwrap() {
                std::cmp::Ordering::Greater => gt += 1,
                std::cmp::Ordering::Less => lt += 1,
                std::cmp::Ordering::Equal => eq += 1,
            }
        }
    }
    let nm = (a.len() * b.len()) as f64;
    (gt as f64 + eq as f64 / 2.0, (lt as f64 - gt as f64) / nm)
}

/// A percentile bootstrap of the median's relative change, resampling for real.
fn naive_bootstrap(a: &[f64], b: &[f64], rounds: usize) -> (f64, f64) {
    let mut r = Rng(0x5eed);
    let mut resample = |v: &[f64]| {
        let mut s: Vec<f64> = (0..v.len()).map(|_| v[(r.unit() * v.len() as f64) as usize]).collect();
        s.sort_by(f64::total_cmp);
        type7(&s, 0.5)
    };
    let mut d: Vec<f64> = (0..rounds)
        .map(|_| {
            let (ma, mb) = (resample(a), resample(b));
            100.0 * (mb - ma) / ma
        })
        .collect();
    d.sort_by(f64::total_cmp);
    (type7(&d, 0.025), type7(&d, 0.975))
}

fn compare_json(a: &Path, b: &Path, extra: &[&str]) -> (std::process::Output, serde_json::Value) {
    let json = a.parent().unwrap().parent().unwrap().join("cmp.json");
    let mut args = vec!["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--json", json.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = ivcbench(&args);
    let v = std::fs::read(&json).map(|b| serde_json::from_slice(&b).unwrap()).unwrap_or(serde_json::Value::Null);
    let _ = std::fs::remove_file(&json);
    (o, v)
}

#[test]
fn known_differences_give_the_expected_verdicts_and_statistics() {
    let d = tempfile::tempdir().unwrap();
    let base = round_trips(1000, 11);
    let a = d.path().join("a/notif/baremetal");
    write(&a, &capture(&base));
    let cases: [(&str, Vec<u64>); 3] = [
        ("shifted", base.iter().map(|&t| (t as f64 * 1.25).round() as u64).collect()),
        ("identical", base.clone()),
        // 0.2% slower, drawn afresh: the spread is ±10%, so no test at 95% can tell.
        ("tiny", round_trips(1000, 12).iter().map(|&t| (t as f64 * 1.002).round() as u64).collect()),
    ];
    for (name, b_ticks) in cases {
        let b = d.path().join(format!("{name}/notif/baremetal"));
        write(&b, &capture(&b_ticks));
        let (o, json) = compare_json(&a, &b, &[]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let row = &json[0];
        let f = |k: &str| row[k].as_f64().unwrap_or_else(|| panic!("{k} in {row}"));
        let (va, vb) = (ns(&base), ns(&b_ticks));

        // Medians and p99 as numpy gives them.
        assert!((f("median_a") - type7(&va, 0.5)).abs() < 1e-6 && (f("median_b") - type7(&vb, 0.5)).abs() < 1e-6, "{name}");
        assert!((f("p99_a") - type7(&va, 0.99)).abs() < 1e-6 && (f("p99_b") - type7(&vb, 0.99)).abs() < 1e-6, "{name}");
        let change = 100.0 * (type7(&vb, 0.5) - type7(&va, 0.5)) / type7(&va, 0.5);
        assert!((f("median_change_pct") - change).abs() < 1e-9, "{name}");
        // Cliff's delta by counting every pair; the p-value from that U, by the same normal
        // approximation (no ties correction needed to be within 1%: checked as a ratio).
        let (u, delta) = pairs(&va, &vb);
        assert!((f("cliffs_delta") - delta).abs() < 1e-9, "{name}: delta {} vs {delta}", f("cliffs_delta"));
        let (na, nb) = (va.len() as f64, vb.len() as f64);
        let z = ((u - na * nb / 2.0).abs() - 0.5).max(0.0) / (na * nb * (na + nb + 1.0) / 12.0).sqrt();
        let p_no_ties = 2.0 * (1.0 - normal_cdf(z));
        // The bootstrap interval, against real resampling (Monte Carlo on both sides: a tenth of
        // the interval's width, or 0.3 points).
        let (lo, hi) = naive_bootstrap(&va, &vb, 600);
        let ci = (row["median_ci_pct"][0].as_f64().unwrap(), row["median_ci_pct"][1].as_f64().unwrap());
        let tol = (0.1 * (hi - lo)).max(0.3);
        assert!((ci.0 - lo).abs() <= tol && (ci.1 - hi).abs() <= tol, "{name}: interval {ci:?} vs resampled ({lo}, {hi})");

        let verdict = row["verdict"].as_str().unwrap();
        match name {
            "shifted" => {
                assert!(verdict.starts_with("slower by 25.0% ["), "{verdict}");
                assert!(ci.0 > 20.0 && ci.1 < 30.0 && f("p_value") < 1e-6 && delta > 0.3, "{row}");
                assert!(stdout.contains("slower by 25.0%"), "{stdout}");
            }
            "identical" => {
                assert_eq!(verdict, "no difference at 95%");
                assert_eq!((f("median_change_pct"), f("cliffs_delta"), f("p_value")), (0.0, 0.0, 1.0));
            }
            _ => {
                assert_eq!(verdict, "no difference at 95%", "{row}");
                assert!(ci.0 <= 0.0 && ci.1 >= 0.0 && f("p_value") > 0.05, "{row}");
                assert!((f("p_value") / p_no_ties - 1.0).abs() < 0.05, "p {} vs {p_no_ties}", f("p_value"));
            }
        }
        // The regression gate: only a real slowdown beyond the threshold fails.
        let (o, _) = compare_json(&a, &b, &["--fail-if-slower", "10"]);
        assert_eq!(o.status.success(), name != "shifted", "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let (o, _) = compare_json(&a, &b, &["--fail-if-slower", "30"]);
        assert!(o.status.success(), "{name}: a 25% slowdown passes a 30% gate");
    }

    // Faster is said as such (B is A, A is the shifted copy), and two directories compare cell by
    // cell.
    let (o, json) = compare_json(&d.path().join("shifted/notif/baremetal"), &a, &[]);
    assert!(o.status.success());
    assert!(json[0]["verdict"].as_str().unwrap().starts_with("faster by 20.0% ["), "{}", json[0]);
    let o = ivcbench(&["compare", d.path().join("a").to_str().unwrap(), d.path().join("shifted").to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("baremetal base") && out.contains("slower by 25.0%"), "{out}");
    // Nothing in common: a clear error.
    let t = d.path().join("t/transfer/xen");
    write(&t, "<- polling, 16M, time\n 4K\n 100\n->\n");
    let o = ivcbench(&["compare", a.to_str().unwrap(), t.to_str().unwrap()]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("nothing in common"));
}

/// Φ(z) for z ≥ 0 by integrating the density (Simpson's rule): independent of the tool's erfc.
fn normal_cdf(z: f64) -> f64 {
    let steps = 20_000;
    let h = z / steps as f64;
    let pdf = |x: f64| (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let s: f64 = (0..=steps)
        .map(|i| {
            pdf(i as f64 * h)
                * if i == 0 || i == steps {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                }
        })
        .sum();
    0.5 + s * h / 3.0
}
