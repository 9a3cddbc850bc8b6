//! ES256 nonces prepared in batches, so one inversion serves 32 signatures.
//!
//! An ECDSA signature is `r = x(k·G) mod n` and `s = k⁻¹·(z + r·d) mod n`,
//! for a fresh random nonce `k`, the message digest `z` and the private key
//! `d`. `r` and `k⁻¹` depend on the nonce alone, not on the message, so they
//! can be made ahead of time. Making them one at a time, as `ECDSA_do_sign`
//! does, costs a constant-time inversion of `k` (a Fermat exponentiation,
//! ~256 squarings modulo `n`): a third of a P-256 signature's CPU here
//! (perf on the signing micro-benchmark: `ecp_nistz256_ord_sqr_montx`).
//! Inverting 32 nonces together (Montgomery's trick: one inversion and
//! 3·31 multiplications) makes that third nearly free. The field inversion
//! that turns each `k·G` into its x coordinate is shared the same way.
//!
//! Every arithmetic step is AWS-LC's own constant-time code, the same
//! functions and the same order of operations as its `ecdsa_sign_impl`
//! (`crypto/fipsmodule/ecdsa/ecdsa.c`); nonces come from its DRBG through
//! `ec_random_nonzero_scalar`, with the private key mixed in as additional
//! data as `ECDSA_do_sign` does. A test checks that, for the same nonce, the
//! signature here is byte for byte the one AWS-LC's own signer makes.
//!
//! These functions are AWS-LC internals: exported by its static library but
//! not declared in its public headers, so they are declared here by hand,
//! and their symbol names carry the aws-lc-sys version prefix
//! (`aws_lc_0_47_0_`). Bumping aws-lc-sys therefore fails to link here
//! instead of calling a function that may have changed (the workspace
//! Cargo.toml pins it exactly): compare `ecdsa_sign_impl`, `EC_SCALAR`,
//! `EC_FELEM`, `EC_JACOBIAN` and the functions declared below with the new
//! version, then change the prefix in `aws_lc_internal!`.
//!
//! Each prepared pair is used for exactly one signature: it is taken out of a
//! mutex-guarded stack, its slot zeroed, and it is zeroed when dropped
//! (`k⁻¹` together with one signature gives the private key). authgate never
//! forks a process that signs, so no two processes share a stack.

use aws_lc_sys as ffi;
use std::os::raw::c_int;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use zeroize::{DefaultIsZeroes, Zeroize};

/// Nonces prepared per batch. 32 makes the one inversion cost under half a
/// multiplication per signature; the request that prepares a batch waits
/// for 32 base-point multiplications (~0.2 ms here).
const BATCH: usize = 32;
/// Prepared pairs kept per key: at most two batches, so the stack never
/// reallocates (a reallocation would leave copies of secrets behind).
const POOL_CAPACITY: usize = 2 * BATCH;

/// `EC_MAX_WORDS` in AWS-LC's `ec/internal.h`: (66 bytes + 7) / 8.
const EC_MAX_WORDS: usize = 9;
/// Words of a P-256 scalar or field element.
const P256_WORDS: usize = 4;
const P256_BYTES: usize = 32;
/// p - 2 for P-256's field prime p = 2²⁵⁶ - 2²²⁴ + 2¹⁹² + 2⁹⁶ - 1, as
/// little-endian words: the exponent that inverts by Fermat's little theorem.
const P256_P_MINUS_2: [u64; P256_WORDS] = [
    0xffff_ffff_ffff_fffd,
    0x0000_0000_ffff_ffff,
    0x0000_0000_0000_0000,
    0xffff_ffff_0000_0001,
];

/// AWS-LC's `EC_SCALAR`: little-endian words; P-256 uses the first four.
/// `Default` is zero, which lets `zeroize` wipe it and slices of it.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Scalar {
    words: [u64; EC_MAX_WORDS],
}

/// AWS-LC's `EC_FELEM`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Felem {
    words: [u64; EC_MAX_WORDS],
}

/// AWS-LC's `EC_JACOBIAN`: (X/Z², Y/Z³).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Jacobian {
    x: Felem,
    y: Felem,
    z: Felem,
}

impl DefaultIsZeroes for Scalar {}
impl DefaultIsZeroes for Felem {}

/// Montgomery's trick: the inverse of every value for one inversion and
/// 3(n-1) multiplications. `mul(r, a, b)` and `invert(r, a)` are AWS-LC's
/// constant-time functions for the values' domain, and nothing here
/// branches on a value. A zero value makes every result zero.
fn batch_invert<T: DefaultIsZeroes>(
    values: &[T],
    mul: impl Fn(&mut T, &T, &T),
    invert: impl Fn(&mut T, &T),
) -> Vec<T> {
    let n = values.len();
    let mut out = vec![T::default(); n];
    if n == 0 {
        return out;
    }
    // prefix[i] = v_0 ⋯ v_i
    let mut prefix = vec![T::default(); n];
    prefix[0] = values[0];
    for i in 1..n {
        let (done, rest) = prefix.split_at_mut(i);
        mul(&mut rest[0], &done[i - 1], &values[i]);
    }
    let (mut acc, mut tmp) = (T::default(), T::default());
    // acc = (v_0 ⋯ v_{n-1})⁻¹
    invert(&mut acc, &prefix[n - 1]);
    for i in (1..n).rev() {
        // v_i⁻¹ = (v_0 ⋯ v_i)⁻¹ · (v_0 ⋯ v_{i-1})
        mul(&mut out[i], &acc, &prefix[i - 1]);
        // acc = (v_0 ⋯ v_{i-1})⁻¹
        mul(&mut tmp, &acc, &values[i]);
        acc = tmp;
    }
    out[0] = acc;
    prefix.zeroize();
    acc.zeroize();
    tmp.zeroize();
    out
}

macro_rules! aws_lc_internal {
    ($( fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?; )*) => {
        #[allow(non_snake_case)]
        unsafe extern "C" {
            $(
                #[link_name = concat!("aws_lc_0_47_0_", stringify!($name))]
                fn $name($($arg: $ty),*) $(-> $ret)?;
            )*
        }
    };
}

// Signatures copied from aws-lc-sys 0.47.0, aws-lc/crypto/fipsmodule/ec/internal.h.
aws_lc_internal! {
    fn ec_random_nonzero_scalar(group: *const ffi::EC_GROUP, out: *mut Scalar, additional_data: *const u8) -> c_int;
    fn ec_point_mul_scalar_base(group: *const ffi::EC_GROUP, r: *mut Jacobian, scalar: *const Scalar) -> c_int;
    fn ec_GFp_mont_felem_mul(group: *const ffi::EC_GROUP, r: *mut Felem, a: *const Felem, b: *const Felem);
    fn ec_GFp_mont_felem_sqr(group: *const ffi::EC_GROUP, r: *mut Felem, a: *const Felem);
    fn ec_GFp_mont_felem_exp(group: *const ffi::EC_GROUP, out: *mut Felem, a: *const Felem, exp: *const u64, num_exp: usize);
    fn ec_felem_to_bytes(group: *const ffi::EC_GROUP, out: *mut u8, out_len: *mut usize, input: *const Felem);
    fn ec_scalar_is_zero(group: *const ffi::EC_GROUP, a: *const Scalar) -> c_int;
    fn ec_scalar_add(group: *const ffi::EC_GROUP, r: *mut Scalar, a: *const Scalar, b: *const Scalar);
    fn ec_scalar_to_montgomery(group: *const ffi::EC_GROUP, r: *mut Scalar, a: *const Scalar);
    fn ec_scalar_mul_montgomery(group: *const ffi::EC_GROUP, r: *mut Scalar, a: *const Scalar, b: *const Scalar);
    fn ec_scalar_inv0_montgomery(group: *const ffi::EC_GROUP, r: *mut Scalar, a: *const Scalar);
    fn ec_scalar_reduce(group: *const ffi::EC_GROUP, out: *mut Scalar, words: *const u64, num: usize);
    fn ec_scalar_from_bytes(group: *const ffi::EC_GROUP, out: *mut Scalar, input: *const u8, len: usize) -> c_int;
    fn ec_scalar_to_bytes(group: *const ffi::EC_GROUP, out: *mut u8, out_len: *mut usize, input: *const Scalar);
}

/// A nonce's share of one signature: `r` and `k⁻¹·R` (the Montgomery form of
/// `k⁻¹`, as `ecdsa_sign_impl` holds it).
#[derive(Default)]
pub(crate) struct Presig {
    r: Scalar,
    kinv_mont: Scalar,
}

impl Drop for Presig {
    fn drop(&mut self) {
        self.r.zeroize();
        self.kinv_mont.zeroize();
    }
}

/// The P-256 group and private scalar of one key, plus its prepared nonces.
pub(crate) struct Presigner {
    group: *const ffi::EC_GROUP,
    /// The private key `d`, not in Montgomery form.
    d: Scalar,
    pool: Mutex<Vec<Presig>>,
    /// Makes each nonce's additional data distinct.
    drawn: AtomicU64,
}

// SAFETY: `group` points to AWS-LC's static, immutable P-256 group (returned
// by EC_KEY_get0_group for a named curve, which `Es256Key` keeps alive), which
// AWS-LC shares between threads itself; every other field is owned data or behind a Mutex/atomic.
unsafe impl Send for Presigner {}
unsafe impl Sync for Presigner {}

impl Presigner {
    /// The presigner for a P-256 `EC_KEY` with a private key: its group and
    /// private scalar. `None` for another curve, a public-only key, or a
    /// scalar that is zero or not below the order.
    ///
    /// # Safety
    /// `key` must be a valid `EC_KEY` that outlives the returned value (its
    /// group, which the value keeps a pointer to, lives as long as it does).
    pub(crate) unsafe fn for_key(key: *const ffi::EC_KEY) -> Option<Self> {
        let mut bytes = [0u8; P256_BYTES];
        let mut d = Scalar::default();
        // SAFETY: `key` is valid (caller); the getters return borrowed
        // pointers (checked for NULL) into it; the buffers are live and of the
        // lengths passed.
        let ok = unsafe {
            let group = ffi::EC_KEY_get0_group(key);
            let private = ffi::EC_KEY_get0_private_key(key);
            !group.is_null()
                && ffi::EC_GROUP_get_curve_name(group) == ffi::NID_X9_62_prime256v1
                && !private.is_null()
                && ffi::BN_bn2bin_padded(bytes.as_mut_ptr(), P256_BYTES, private) == 1
                && ec_scalar_from_bytes(group, &mut d, bytes.as_ptr(), P256_BYTES) == 1
                && ec_scalar_is_zero(group, &d) != 1
        };
        bytes.zeroize();
        if !ok {
            d.zeroize();
            return None;
        }
        Some(Presigner {
            // SAFETY: as above; non-NULL, checked in `ok`.
            group: unsafe { ffi::EC_KEY_get0_group(key) },
            d,
            pool: Mutex::new(Vec::with_capacity(POOL_CAPACITY)),
            drawn: AtomicU64::new(0),
        })
    }

    /// Signs a SHA-256 digest: `r || s`, 64 bytes. `None` only if AWS-LC's
    /// random generator failed or `s` came out zero (probability 2⁻²⁵⁶); the
    /// caller then signs with `ECDSA_do_sign`.
    pub(crate) fn sign_digest(&self, digest: &[u8; 32]) -> Option<[u8; 64]> {
        let presig = match self.take() {
            Some(presig) => presig,
            None => self.refill()?,
        };
        self.finish(&presig, digest)
    }

    /// One prepared pair; `take` leaves a zeroed one in its slot before it
    /// is popped.
    fn take(&self) -> Option<Presig> {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        let slot = pool.last_mut()?;
        let presig = std::mem::take(slot);
        pool.pop();
        Some(presig)
    }

    /// Prepares a batch; keeps one for the caller and stacks the rest.
    fn refill(&self) -> Option<Presig> {
        let mut batch = self.prepare_random()?;
        if batch.is_empty() {
            return None;
        }
        let mine = std::mem::take(&mut batch[0]);
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        for slot in batch.iter_mut().skip(1) {
            if pool.len() == POOL_CAPACITY {
                break;
            }
            pool.push(std::mem::take(slot));
        }
        // `batch` drops here, zeroing whatever was not stacked.
        Some(mine)
    }

    /// Draws `BATCH` nonces from AWS-LC's DRBG and prepares them.
    fn prepare_random(&self) -> Option<Vec<Presig>> {
        let mut nonces = [Scalar::default(); BATCH];
        let mut ok = true;
        for nonce in nonces.iter_mut() {
            ok &= self.draw_nonce(nonce);
        }
        let prepared = if ok { self.prepare(&nonces) } else { None };
        nonces.zeroize();
        prepared
    }

    /// As `ECDSA_do_sign`, the DRBG's additional data is a SHA-512 of the
    /// private key and something unique to this draw (there, the digest; here,
    /// a counter, since the message is not known yet): a hardening against a
    /// weak entropy source.
    fn draw_nonce(&self, out: &mut Scalar) -> bool {
        let n = self.drawn.fetch_add(1, Ordering::Relaxed);
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA512);
        ctx.update(words_as_bytes(&self.d.words[..P256_WORDS]));
        ctx.update(&n.to_le_bytes());
        let additional = ctx.finish();
        // SAFETY: valid group; `out` is live; AWS-LC reads 32 bytes of the
        // 64-byte digest.
        unsafe { ec_random_nonzero_scalar(self.group, out, additional.as_ref().as_ptr()) == 1 }
    }

    /// `r` and `k⁻¹` for each nonce (all non-zero and below the order). A
    /// nonce whose `r` is zero (probability 2⁻²⁵⁶) is skipped, as
    /// `ecdsa_sign_impl` retries it. `None` if a point multiplication fails.
    pub(crate) fn prepare(&self, nonces: &[Scalar]) -> Option<Vec<Presig>> {
        let mut points = Vec::with_capacity(nonces.len());
        for k in nonces {
            let mut point = Jacobian::default();
            // SAFETY: valid group, live output and input.
            if unsafe { ec_point_mul_scalar_base(self.group, &mut point, k) } != 1 {
                return None;
            }
            points.push(point);
        }
        let rs = self.x_coordinates(&points);
        let kept: Vec<(Scalar, &Scalar)> = rs
            .into_iter()
            .zip(nonces)
            // SAFETY: valid group, live input.
            .filter(|(r, _)| unsafe { ec_scalar_is_zero(self.group, r) } != 1)
            .collect();
        let mut inverses = self.inverses_mont(kept.iter().map(|(_, k)| *k));
        let prepared = kept
            .iter()
            .zip(inverses.iter())
            .map(|((r, _), kinv_mont)| Presig {
                r: *r,
                kinv_mont: *kinv_mont,
            })
            .collect();
        inverses.zeroize();
        Some(prepared)
    }

    /// `x mod n` of each point, as `ec_get_x_coordinate_as_scalar` computes
    /// it, with one field inversion for them all: x = X/Z², with the Z²
    /// inverted together. The field elements are in AWS-LC's Montgomery form
    /// for P-256 (R = 2²⁵⁶), which its point functions and its
    /// `ec_GFp_mont_felem_*` functions share (its own P-256 method uses both).
    /// A zero Z (the point at infinity, impossible for 0 < k < n) would zero
    /// every inverse, hence every x, and `prepare` drops a zero `r`.
    fn x_coordinates(&self, points: &[Jacobian]) -> Vec<Scalar> {
        let g = self.group;
        let mut z2: Vec<Felem> = points
            .iter()
            .map(|point| {
                let mut sq = Felem::default();
                // SAFETY: valid group, live distinct values.
                unsafe { ec_GFp_mont_felem_sqr(g, &mut sq, &point.z) };
                sq
            })
            .collect();
        let mut z2_inv = batch_invert(
            &z2,
            // SAFETY (both closures): valid group, live distinct values.
            |r, a, b| unsafe { ec_GFp_mont_felem_mul(g, r, a, b) },
            // Fermat: a^(p-2), constant time in a (the exponent is public).
            |r, a| unsafe { ec_GFp_mont_felem_exp(g, r, a, P256_P_MINUS_2.as_ptr(), P256_WORDS) },
        );
        let xs = points
            .iter()
            .zip(&z2_inv)
            .map(|(point, inv)| {
                let (mut x, mut r) = (Felem::default(), Scalar::default());
                let mut bytes = [0u8; P256_BYTES];
                let mut len = 0usize;
                // SAFETY: valid group, live distinct values, a 32-byte buffer
                // for P-256's 32-byte field elements.
                unsafe {
                    ec_GFp_mont_felem_mul(g, &mut x, &point.x, inv);
                    ec_felem_to_bytes(g, bytes.as_mut_ptr(), &mut len, &x);
                    debug_assert_eq!(len, P256_BYTES);
                    // x < p < 2n: reduced modulo n.
                    ec_scalar_reduce(g, &mut r, be_words(&bytes).as_ptr(), P256_WORDS);
                }
                r
            })
            .collect();
        z2.zeroize();
        z2_inv.zeroize();
        xs
    }

    /// `k⁻¹·R` (the Montgomery form of `k⁻¹`) for each nonce, with one
    /// constant-time inversion for them all.
    fn inverses_mont<'a>(&self, nonces: impl Iterator<Item = &'a Scalar>) -> Vec<Scalar> {
        let g = self.group;
        let mut mont: Vec<Scalar> = nonces
            .map(|k| {
                let mut m = Scalar::default();
                // SAFETY: valid group, live distinct values.
                unsafe { ec_scalar_to_montgomery(g, &mut m, k) };
                m
            })
            .collect();
        let inverses = batch_invert(
            &mont,
            // SAFETY (both closures): valid group, live distinct values.
            |r, a, b| unsafe { ec_scalar_mul_montgomery(g, r, a, b) },
            |r, a| unsafe { ec_scalar_inv0_montgomery(g, r, a) },
        );
        mont.zeroize();
        inverses
    }

    /// `s = k⁻¹·(z + r·d)`, in `ecdsa_sign_impl`'s order of operations.
    pub(crate) fn finish(&self, presig: &Presig, digest: &[u8; 32]) -> Option<[u8; 64]> {
        let g = self.group;
        // z: the digest as little-endian words, reduced below the order (a
        // 256-bit digest needs no truncation for P-256).
        let z_words = be_words(digest);
        let (mut r_mont, mut rd, mut z, mut sum, mut s) = (
            Scalar::default(),
            Scalar::default(),
            Scalar::default(),
            Scalar::default(),
            Scalar::default(),
        );
        let mut out = [0u8; 64];
        // SAFETY: valid group; every pointer is a distinct live local or field.
        let s_is_zero = unsafe {
            ec_scalar_reduce(g, &mut z, z_words.as_ptr(), P256_WORDS);
            // r·d: one factor in Montgomery form gives a plain product.
            ec_scalar_to_montgomery(g, &mut r_mont, &presig.r);
            ec_scalar_mul_montgomery(g, &mut rd, &self.d, &r_mont);
            ec_scalar_add(g, &mut sum, &rd, &z);
            // (z + r·d) · k⁻¹R · R⁻¹ = (z + r·d) · k⁻¹
            ec_scalar_mul_montgomery(g, &mut s, &sum, &presig.kinv_mont);
            let zero = ec_scalar_is_zero(g, &s) == 1;
            let mut len = 0usize;
            ec_scalar_to_bytes(g, out.as_mut_ptr(), &mut len, &presig.r);
            debug_assert_eq!(len, P256_BYTES);
            ec_scalar_to_bytes(g, out.as_mut_ptr().add(P256_BYTES), &mut len, &s);
            zero
        };
        rd.zeroize();
        sum.zeroize();
        (!s_is_zero).then_some(out)
    }

    /// A nonce from its 32-byte big-endian form (tests only: production
    /// nonces come from the DRBG).
    #[cfg(test)]
    pub(crate) fn nonce_from_bytes(&self, bytes: &[u8; 32]) -> Option<Scalar> {
        let mut k = Scalar::default();
        // SAFETY: valid group, live buffers of the lengths passed.
        let ok = unsafe { ec_scalar_from_bytes(self.group, &mut k, bytes.as_ptr(), P256_BYTES) };
        (ok == 1).then_some(k)
    }

    #[cfg(test)]
    pub(crate) fn pooled(&self) -> usize {
        self.pool.lock().unwrap().len()
    }
}

impl Drop for Presigner {
    fn drop(&mut self) {
        self.d.zeroize();
        // The pool's Presigs zero themselves as the Vec drops them.
    }
}

/// 32 big-endian bytes as four little-endian words (AWS-LC's order).
fn be_words(bytes: &[u8; P256_BYTES]) -> [u64; P256_WORDS] {
    let mut words = [0u64; P256_WORDS];
    for (i, word) in words.iter_mut().enumerate() {
        let end = P256_BYTES - 8 * i;
        *word = u64::from_be_bytes(bytes[end - 8..end].try_into().expect("8 bytes"));
    }
    words
}

fn words_as_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: u64 has no padding and stricter alignment than u8; the slice
    // covers exactly the words' bytes.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), std::mem::size_of_val(words)) }
}
