/* reev's C SDK for on-chain programs (SBPF v0, clang-19 -target bpfel -mcpu=v2).
 *
 * One header, everything `static`: a program is one translation unit, so clang resolves every
 * call between its functions itself and the linker only sees syscalls. What lives here:
 *   - the entrypoint input of Solana's BPF loader (aligned layout) turned into SolAccountInfo;
 *   - the syscalls reev programs use (names must be in reev.programs.toolchain.syscalls);
 *   - the C ABI of sol_invoke_signed_c (SolInstruction, SolAccountMeta, SolSignerSeeds);
 *   - 128-bit arithmetic on two u64 limbs (clang's BPF target has no __int128 division);
 *   - small helpers: pubkey compare, little-endian reads, decimal formatting for logs.
 * Rules the toolchain enforces: no writable globals, at most 5 arguments per function (BPF
 * passes arguments in r1-r5; pass a struct pointer), no signed division, large copies through
 * sol_memcpy_.
 */
#ifndef REEV_SDK_H
#define REEV_SDK_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

#define SUCCESS 0
#define MAX_PERMITTED_DATA_INCREASE (10 * 1024)
#define NON_DUP_MARKER 0xff
#define SOL_MAX_ACCOUNTS 16 /* accounts kept by sol_deserialize; later ones are skipped */

typedef struct {
  u8 x[32];
} SolPubkey;

/* An account of the input, pointing into the loader's serialized buffer (CPI needs that). */
typedef struct {
  SolPubkey *key;
  u64 *lamports;
  u64 data_len;
  u8 *data;
  SolPubkey *owner;
  u64 rent_epoch;
  bool is_signer;
  bool is_writable;
  bool executable;
} SolAccountInfo;

typedef struct {
  SolAccountInfo ka[SOL_MAX_ACCOUNTS];
  u64 ka_num; /* accounts the transaction passed (may exceed SOL_MAX_ACCOUNTS) */
  const u8 *data;
  u64 data_len;
  const SolPubkey *program_id;
} SolParameters;

typedef struct {
  SolPubkey *pubkey;
  bool is_writable;
  bool is_signer;
} SolAccountMeta;

typedef struct {
  const SolPubkey *program_id;
  const SolAccountMeta *accounts;
  u64 account_len;
  const u8 *data;
  u64 data_len;
} SolInstruction;

typedef struct {
  const u8 *addr;
  u64 len;
} SolSignerSeed;

typedef struct {
  const SolSignerSeed *addr;
  u64 len;
} SolSignerSeeds;

/* Syscalls (resolved by the loader through the murmur3 hash of the name). */
extern void sol_log_(const char *message, u64 len);
extern void sol_log_64_(u64, u64, u64, u64, u64);
extern u64 sol_invoke_signed_c(const SolInstruction *instruction, const SolAccountInfo *account_infos,
                               u64 account_infos_len, const SolSignerSeeds *signers_seeds,
                               u64 signers_seeds_len);
extern u64 sol_create_program_address(const SolSignerSeed *seeds, u64 seeds_len,
                                      const SolPubkey *program_id, SolPubkey *address);
extern u64 sol_try_find_program_address(const SolSignerSeed *seeds, u64 seeds_len,
                                        const SolPubkey *program_id, SolPubkey *address, u8 *bump);
extern void sol_set_return_data(const u8 *data, u64 len);
extern void sol_memcpy_(void *dst, const void *src, u64 n);
extern void sol_memset_(void *dst, u8 value, u64 n);
extern void sol_memcmp_(const void *a, const void *b, u64 n, int *result); /* <0, 0, >0 */
/* Rent { lamports_per_byte_year: u64, exemption_threshold: f64, burn_percent: u8 } */
extern u64 sol_get_rent_sysvar(void *rent);

#define sol_log(literal) sol_log_((literal), sizeof(literal) - 1)

/* ---- entrypoint input --------------------------------------------------------------------
 * u64 account count; per account either a duplicate (u8 index of the original + 7 bytes of
 * padding) or: u8 0xff, is_signer, is_writable, executable, 4 bytes of padding, key, owner,
 * u64 lamports, u64 data length, the data, 10 KiB of realloc room, padding to 8, u64 rent epoch;
 * then u64 instruction data length, the data, the program id. */
static inline u64 read_u64(const u8 *p) { return *(const u64 *)p; }

static inline void sol_deserialize(u8 *input, SolParameters *params) {
  u64 count = read_u64(input);
  input += sizeof(u64);
  params->ka_num = count;
  for (u64 i = 0; i < count; i++) {
    u8 dup = input[0];
    SolAccountInfo *info = i < SOL_MAX_ACCOUNTS ? &params->ka[i] : NULL;
    if (dup != NON_DUP_MARKER) {
      if (info != NULL && dup < SOL_MAX_ACCOUNTS) *info = params->ka[dup];
      input += 8;
      continue;
    }
    u64 data_len = read_u64(input + 80);
    if (info != NULL) {
      info->is_signer = input[1];
      info->is_writable = input[2];
      info->executable = input[3];
      info->key = (SolPubkey *)(input + 8);
      info->owner = (SolPubkey *)(input + 40);
      info->lamports = (u64 *)(input + 72);
      info->data_len = data_len;
      info->data = input + 88;
    }
    input += 88 + data_len + MAX_PERMITTED_DATA_INCREASE;
    input = (u8 *)(((u64)input + 7) & ~(u64)7);
    if (info != NULL) info->rent_epoch = read_u64(input);
    input += sizeof(u64);
  }
  params->data_len = read_u64(input);
  input += sizeof(u64);
  params->data = input;
  input += params->data_len;
  params->program_id = (const SolPubkey *)input;
}

/* ---- pubkeys ------------------------------------------------------------------------------- */
static inline bool pubkey_eq(const SolPubkey *a, const SolPubkey *b) {
  const u64 *x = (const u64 *)a, *y = (const u64 *)b;
  return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
}

/* a < b comparing bytes in order (Pubkey ordering) */
static inline bool pubkey_lt(const SolPubkey *a, const SolPubkey *b) {
  for (int i = 0; i < 32; i++) {
    if (a->x[i] != b->x[i]) return a->x[i] < b->x[i];
  }
  return false;
}

static inline bool is_zero(const u8 *p, u64 len) {
  for (u64 i = 0; i < len; i++)
    if (p[i]) return false;
  return true;
}

/* ---- 128-bit arithmetic on two limbs -------------------------------------------------------- */
typedef struct {
  u64 hi, lo;
} u128;

static inline u128 mul64(u64 a, u64 b) {
  u64 a_lo = a & 0xffffffffull, a_hi = a >> 32, b_lo = b & 0xffffffffull, b_hi = b >> 32;
  u64 ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
  u64 mid = (ll >> 32) + (lh & 0xffffffffull) + (hl & 0xffffffffull);
  u128 r;
  r.lo = (mid << 32) | (ll & 0xffffffffull);
  r.hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
  return r;
}

static inline u64 nlz64(u64 x) {
  u64 n = 0;
  if (x == 0) return 64;
  if ((x >> 32) == 0) { n += 32; x <<= 32; }
  if ((x >> 48) == 0) { n += 16; x <<= 16; }
  if ((x >> 56) == 0) { n += 8; x <<= 8; }
  if ((x >> 60) == 0) { n += 4; x <<= 4; }
  if ((x >> 62) == 0) { n += 2; x <<= 2; }
  if ((x >> 63) == 0) { n += 1; }
  return n;
}

/* (u.hi:u.lo) / v with remainder; false when v == 0 or the quotient needs more than 64 bits.
 * Knuth's algorithm D on 32-bit digits (Hacker's Delight, divlu). */
static inline bool div128(u128 u, u64 v, u64 *quotient, u64 *remainder) {
  const u64 b = 1ull << 32;
  if (v == 0 || u.hi >= v) return false;
  if (u.hi == 0) {
    *quotient = u.lo / v;
    *remainder = u.lo % v;
    return true;
  }
  u64 s = nlz64(v);
  v <<= s;
  u64 vn1 = v >> 32, vn0 = v & 0xffffffffull;
  u64 un32 = (u.hi << s) | (s == 0 ? 0 : u.lo >> (64 - s));
  u64 un10 = u.lo << s;
  u64 un1 = un10 >> 32, un0 = un10 & 0xffffffffull;
  u64 q1 = un32 / vn1, rhat = un32 - q1 * vn1;
  while (q1 >= b || q1 * vn0 > b * rhat + un1) {
    q1 -= 1;
    rhat += vn1;
    if (rhat >= b) break;
  }
  u64 un21 = un32 * b + un1 - q1 * v;
  u64 q0 = un21 / vn1;
  rhat = un21 - q0 * vn1;
  while (q0 >= b || q0 * vn0 > b * rhat + un0) {
    q0 -= 1;
    rhat += vn1;
    if (rhat >= b) break;
  }
  *remainder = (un21 * b + un0 - q0 * v) >> s;
  *quotient = q1 * b + q0;
  return true;
}

/* floor(a * b / d) and ceil(a * b / d); false when d == 0 or the result overflows a u64 */
static inline bool mul_div_floor(u64 a, u64 b, u64 d, u64 *out) {
  u64 r;
  return div128(mul64(a, b), d, out, &r);
}

static inline bool mul_div_ceil(u64 a, u64 b, u64 d, u64 *out) {
  u64 q, r;
  if (!div128(mul64(a, b), d, &q, &r)) return false;
  if (r != 0) {
    if (q == ~0ull) return false;
    q += 1;
  }
  *out = q;
  return true;
}

/* floor(sqrt(a * b)) (always fits a u64), Newton's method from above */
static inline u64 isqrt_mul(u64 a, u64 b) {
  u128 n = mul64(a, b);
  if (n.hi == 0 && n.lo < 2) return n.lo;
  u64 bits = n.hi ? 128 - nlz64(n.hi) : 64 - nlz64(n.lo);
  u64 half = (bits + 1) / 2;
  u64 x = half >= 64 ? ~0ull : (1ull << half); /* >= sqrt(n), < 2^64 */
  for (;;) {
    u64 q, r;
    div128(n, x, &q, &r); /* n / x <= x < 2^64 because x >= sqrt(n) */
    u64 y = (x >> 1) + (q >> 1) + (x & q & 1);
    if (y >= x) return x;
    x = y;
  }
}

/* ---- logs --------------------------------------------------------------------------------- */
/* Writes the decimal digits of v at p; returns how many. */
static inline u64 format_u64(char *p, u64 v) {
  char digits[20];
  u64 n = 0;
  do {
    digits[n++] = '0' + (char)(v % 10);
    v /= 10;
  } while (v);
  for (u64 i = 0; i < n; i++) p[i] = digits[n - 1 - i];
  return n;
}

#endif /* REEV_SDK_H */
