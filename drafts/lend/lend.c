/* reev Lend: Earn vaults (ERC-4626) and over-collateralised borrowing against oracle prices.
 *
 * The interface (accounts, layouts, math, instructions, errors, order of checks) is
 * docs/lending.md; src/reev/defi/lend/model.py is the same math in Python. Every account is
 * checked before anything moves: the market / reserve / obligation / oracle by owner, size and
 * discriminator, vaults and share mints against the addresses the reserve stores, the reserve
 * authority by the vault's owner (InitReserve verified the vault belongs to the PDA and only
 * this program can sign for it), token accounts by mint and owner. Totals live in the reserve,
 * not in the vault, so a donation to a vault moves nothing. Integer math only: products go
 * through the SDK's 128-bit mul_div, every sum is checked.
 */
#include "reev_sdk.h"

/* ---- errors (docs/lending.md) ---------------------------------------------------------------- */
enum {
  E_INVALID_INSTRUCTION = 1,
  E_NOT_ENOUGH_ACCOUNTS = 2,
  E_MISSING_SIGNER = 3,
  E_INVALID_MARKET = 4,
  E_INVALID_RESERVE = 5,
  E_INVALID_OBLIGATION = 6,
  E_INVALID_ORACLE = 7,
  E_ALREADY_INITIALIZED = 8,
  E_INVALID_AUTHORITY = 9,
  E_UNAUTHORIZED = 10,
  E_WRONG_MARKET = 11,
  E_WRONG_MINT = 12,
  E_WRONG_VAULT = 13,
  E_WRONG_SHARE_MINT = 14,
  E_WRONG_ORACLE = 15,
  E_WRONG_TOKEN_PROGRAM = 16,
  E_INVALID_TOKEN_ACCOUNT = 17,
  E_INVALID_SHARE_MINT = 18,
  E_INVALID_VAULT = 19,
  E_INVALID_CONFIG = 20,
  E_MARKET_FULL = 21,
  E_DUPLICATE_RESERVE = 22,
  E_ZERO_AMOUNT = 23,
  E_ZERO_SHARES = 24,
  E_ZERO_ASSETS = 25,
  E_INSUFFICIENT_LIQUIDITY = 26,
  E_INSUFFICIENT_SHARES = 27,
  E_INSUFFICIENT_COLLATERAL = 28,
  E_STALE_PRICE = 29,
  E_INVALID_PRICE = 30,
  E_MISSING_RESERVE = 31,
  E_BORROW_LIMIT_EXCEEDED = 32,
  E_UNHEALTHY = 33,
  E_NOT_LIQUIDATABLE = 34,
  E_LIQUIDATION_TOO_LARGE = 35,
  E_SLIPPAGE_EXCEEDED = 36,
  E_NO_DEBT = 37,
  E_MATH_OVERFLOW = 38,
  E_INVALID_SYSTEM_PROGRAM = 39,
};

#define TRY(expr)                     \
  do {                                \
    u64 _err = (expr);                \
    if (_err != SUCCESS) return _err; \
  } while (0)

/* ---- layouts -------------------------------------------------------------------------------- */
#define VERSION 1
#define MAX_RESERVES 8
#define MARKET_LEN 560
#define RESERVE_LEN 256
#define ORACLE_LEN 64
#define OBLIGATION_LEN 208

typedef struct {
  SolPubkey reserve;
  SolPubkey mint;
} MarketEntry;

typedef struct {
  u8 discriminator[8]; /* "reevmrkt" */
  u8 version;
  u8 reserve_count;
  u16 close_factor_bps;
  u32 reserved;
  SolPubkey admin;
  MarketEntry entries[MAX_RESERVES];
} Market;

typedef struct {
  u8 discriminator[8]; /* "reevresv" */
  u8 version;
  u8 index;
  u8 authority_bump;
  u8 decimals;
  u16 ltv_bps;
  u16 liquidation_threshold_bps;
  u16 liquidation_bonus_bps;
  u16 kink_bps;
  u32 base_rate_bps;
  u32 slope1_bps;
  u32 slope2_bps;
  u32 max_price_age_slots;
  u32 reserved0;
  SolPubkey market;
  SolPubkey asset_mint;
  SolPubkey vault;
  SolPubkey share_mint;
  SolPubkey oracle;
  u64 last_update_slot;
  u64 available;
  u64 borrowed;
  u64 supply_shares;
  u64 borrow_shares;
  u64 total_collateral;
  u64 reserved1;
} Reserve;

typedef struct {
  u8 discriminator[8]; /* "reevorcl" */
  u8 version;
  u8 reserved[7];
  SolPubkey mint;
  u64 price; /* USD per whole token x 10^8 */
  u64 publish_slot;
} Oracle;

typedef struct {
  u8 discriminator[8]; /* "reevoblg" */
  u8 version;
  u8 bump;
  u8 reserved[6];
  SolPubkey market;
  SolPubkey owner;
  u64 collateral[MAX_RESERVES];
  u64 borrow_shares[MAX_RESERVES];
} Obligation;

_Static_assert(sizeof(Market) == MARKET_LEN, "market layout");
_Static_assert(sizeof(Reserve) == RESERVE_LEN, "reserve layout");
_Static_assert(__builtin_offsetof(Reserve, market) == 40, "reserve market offset");
_Static_assert(__builtin_offsetof(Reserve, last_update_slot) == 200, "reserve totals offset");
_Static_assert(sizeof(Oracle) == ORACLE_LEN, "oracle layout");
_Static_assert(sizeof(Obligation) == OBLIGATION_LEN, "obligation layout");
_Static_assert(__builtin_offsetof(Obligation, collateral) == 80, "collateral offset");

static const u8 MARKET_DISCRIMINATOR[8] = {'r', 'e', 'e', 'v', 'm', 'r', 'k', 't'};
static const u8 RESERVE_DISCRIMINATOR[8] = {'r', 'e', 'e', 'v', 'r', 'e', 's', 'v'};
static const u8 ORACLE_DISCRIMINATOR[8] = {'r', 'e', 'e', 'v', 'o', 'r', 'c', 'l'};
static const u8 OBLIGATION_DISCRIMINATOR[8] = {'r', 'e', 'e', 'v', 'o', 'b', 'l', 'g'};
static const u8 SEED_AUTHORITY[] = {'a', 'u', 't', 'h', 'o', 'r', 'i', 't', 'y'};
static const u8 SEED_OBLIGATION[] = {'o', 'b', 'l', 'i', 'g', 'a', 't', 'i', 'o', 'n'};

/* ---- constants of the math ---------------------------------------------------------------- */
#define WAD 1000000000000000000ull
#define BPS 10000ull
#define SLOTS_PER_YEAR 78840000ull
#define RATE_UNIT 100000000000000ull /* one basis point as a WAD */
#define MAX_DECIMALS 18

/* ---- well-known programs and SPL Token layouts -------------------------------------------- */
static const SolPubkey TOKEN_PROGRAM = {{0x06, 0xdd, 0xf6, 0xe1, 0xd7, 0x65, 0xa1, 0x93, 0xd9, 0xcb, 0xe1,
                                         0x46, 0xce, 0xeb, 0x79, 0xac, 0x1c, 0xb4, 0x85, 0xed, 0x5f, 0x5b,
                                         0x37, 0x91, 0x3a, 0x8c, 0xf5, 0x85, 0x7e, 0xff, 0x00, 0xa9}};
static const SolPubkey SYSTEM_PROGRAM = {{0}};

#define MINT_LEN 82
#define MINT_AUTHORITY_OPTION 0
#define MINT_AUTHORITY 4
#define MINT_SUPPLY 36
#define MINT_DECIMALS 44
#define MINT_INITIALIZED 45
#define MINT_FREEZE_OPTION 46
#define ACCOUNT_LEN 165
#define ACCOUNT_MINT 0
#define ACCOUNT_OWNER 32
#define ACCOUNT_AMOUNT 64
#define ACCOUNT_DELEGATE 72
#define ACCOUNT_STATE 108
#define ACCOUNT_CLOSE_AUTHORITY 129
#define TOKEN_IX_TRANSFER 3
#define TOKEN_IX_MINT_TO 7
#define TOKEN_IX_BURN 8

/* Clock { slot, epoch_start_timestamp, epoch, leader_schedule_epoch, unix_timestamp } */
typedef struct {
  u64 slot;
  i64 epoch_start_timestamp;
  u64 epoch;
  u64 leader_schedule_epoch;
  i64 unix_timestamp;
} Clock;
extern u64 sol_get_clock_sysvar(void *clock);

static inline u64 current_slot(void) {
  Clock clock;
  sol_get_clock_sysvar(&clock);
  return clock.slot;
}

/* ---- checked arithmetic ------------------------------------------------------------------- */
static inline bool add_u64(u64 a, u64 b, u64 *out) {
  *out = a + b;
  return *out >= a;
}

static u64 mdf(u64 a, u64 b, u64 c, u64 *out) {
  return mul_div_floor(a, b, c, out) ? SUCCESS : E_MATH_OVERFLOW;
}

static u64 mdc(u64 a, u64 b, u64 c, u64 *out) {
  return mul_div_ceil(a, b, c, out) ? SUCCESS : E_MATH_OVERFLOW;
}

static u64 add(u64 a, u64 b, u64 *out) { return add_u64(a, b, out) ? SUCCESS : E_MATH_OVERFLOW; }

static u64 pow10(u8 decimals) {
  u64 p = 1;
  for (u8 i = 0; i < decimals; i++) p *= 10;
  return p;
}

/* ---- interest and conversions (docs/lending.md, "Math") ----------------------------------- */
static u64 accrue(Reserve *r, u64 slot) {
  if (slot <= r->last_update_slot) return SUCCESS;
  if (r->borrowed != 0) {
    u64 total, u, apr, part, growth, interest;
    TRY(add(r->available, r->borrowed, &total));
    TRY(mdf(r->borrowed, WAD, total, &u));
    u64 kink = (u64)r->kink_bps * RATE_UNIT;
    if (u <= kink) {
      TRY(mdf((u64)r->slope1_bps * RATE_UNIT, u, kink, &part));
      apr = (u64)r->base_rate_bps * RATE_UNIT + part;
    } else {
      TRY(mdf((u64)r->slope2_bps * RATE_UNIT, u - kink, WAD - kink, &part));
      apr = ((u64)r->base_rate_bps + r->slope1_bps) * RATE_UNIT + part;
    }
    TRY(mdf(apr, slot - r->last_update_slot, SLOTS_PER_YEAR, &growth));
    TRY(mdf(r->borrowed, growth, WAD, &interest));
    TRY(add(r->borrowed, interest, &r->borrowed));
  }
  r->last_update_slot = slot;
  return SUCCESS;
}

/* (total_assets + 1, supply_shares + 1): the ERC-4626 virtual asset and share */
static u64 earn_totals(const Reserve *r, u64 *assets1, u64 *shares1) {
  u64 total;
  TRY(add(r->available, r->borrowed, &total));
  TRY(add(total, 1, assets1));
  return add(r->supply_shares, 1, shares1);
}

static u64 debt_of(const Reserve *r, u64 shares, u64 *debt) {
  if (r->borrow_shares == 0) {
    *debt = 0;
    return SUCCESS;
  }
  return mdc(shares, r->borrowed, r->borrow_shares, debt);
}

/* ---- account loading ------------------------------------------------------------------------ */
static bool owned(const SolParameters *params, const SolAccountInfo *account, u64 len, const u8 *disc) {
  return pubkey_eq(account->owner, params->program_id) && account->data_len == len &&
         read_u64(account->data) == read_u64(disc) && account->data[8] == VERSION;
}

static u64 load_market(const SolParameters *params, const SolAccountInfo *account, Market **out) {
  if (!owned(params, account, MARKET_LEN, MARKET_DISCRIMINATOR)) return E_INVALID_MARKET;
  *out = (Market *)account->data;
  return SUCCESS;
}

static u64 load_reserve(const SolParameters *params, const SolAccountInfo *account, Reserve **out) {
  if (!owned(params, account, RESERVE_LEN, RESERVE_DISCRIMINATOR) || !account->is_writable)
    return E_INVALID_RESERVE;
  *out = (Reserve *)account->data;
  return SUCCESS;
}

static u64 load_obligation(const SolParameters *params, const SolAccountInfo *account, Obligation **out) {
  if (!owned(params, account, OBLIGATION_LEN, OBLIGATION_DISCRIMINATOR) || !account->is_writable)
    return E_INVALID_OBLIGATION;
  *out = (Obligation *)account->data;
  return SUCCESS;
}

/* The oracle of `r`, and its price if usable at `slot`. */
static u64 read_price(const SolParameters *params, const SolAccountInfo *account, const Reserve *r, u64 slot,
                      u64 *price) {
  if (!owned(params, account, ORACLE_LEN, ORACLE_DISCRIMINATOR)) return E_INVALID_ORACLE;
  const Oracle *o = (const Oracle *)account->data;
  if (!pubkey_eq(account->key, &r->oracle) || !pubkey_eq(&o->mint, &r->asset_mint)) return E_WRONG_ORACLE;
  if (o->price == 0) return E_INVALID_PRICE;
  if (slot > o->publish_slot && slot - o->publish_slot > r->max_price_age_slots) return E_STALE_PRICE;
  *price = o->price;
  return SUCCESS;
}

static bool is_token_account(const SolAccountInfo *account) {
  return pubkey_eq(account->owner, &TOKEN_PROGRAM) && account->data_len == ACCOUNT_LEN &&
         account->data[ACCOUNT_STATE] != 0;
}

/* A token account of `mint`; when `owner` is given, owned by it. */
static u64 check_token_account(const SolAccountInfo *account, const SolPubkey *mint, const SolPubkey *owner) {
  if (!is_token_account(account)) return E_INVALID_TOKEN_ACCOUNT;
  if (!pubkey_eq((const SolPubkey *)(account->data + ACCOUNT_MINT), mint)) return E_WRONG_MINT;
  if (owner && !pubkey_eq((const SolPubkey *)(account->data + ACCOUNT_OWNER), owner))
    return E_INVALID_TOKEN_ACCOUNT;
  return SUCCESS;
}

/* The reserve's vault and authority as passed, and the SPL Token program. */
static u64 check_vault(const Reserve *r, const SolAccountInfo *vault, const SolAccountInfo *authority) {
  if (!pubkey_eq(vault->key, &r->vault)) return E_WRONG_VAULT;
  if (authority && !pubkey_eq(authority->key, (const SolPubkey *)(vault->data + ACCOUNT_OWNER)))
    return E_INVALID_AUTHORITY;
  return SUCCESS;
}

static u64 check_token_program(const SolAccountInfo *token) {
  return pubkey_eq(token->key, &TOKEN_PROGRAM) ? SUCCESS : E_WRONG_TOKEN_PROGRAM;
}

/* ---- token CPIs ------------------------------------------------------------------------------ */
/* Transfer / MintTo / Burn of SPL Token: three accounts (the third signs), tag + u64 amount.
 * `reserve_key` and `bump` are set when the reserve authority signs. */
typedef struct {
  const SolAccountInfo *token;
  const SolAccountInfo *first;
  const SolAccountInfo *second;
  const SolAccountInfo *signer;
  const SolPubkey *reserve_key;
  u8 bump;
  u8 tag;
  u64 amount;
} TokenCall;

static u64 token_call(const TokenCall *c) {
  SolAccountMeta metas[3] = {
      {c->first->key, true, false},
      {c->second->key, true, false},
      {c->signer->key, false, true},
  };
  u8 data[9];
  data[0] = c->tag;
  *(u64 *)(data + 1) = c->amount;
  SolAccountInfo infos[3] = {*c->first, *c->second, *c->signer};
  SolInstruction ix = {c->token->key, metas, 3, data, sizeof(data)};
  if (c->reserve_key == NULL) return sol_invoke_signed_c(&ix, infos, 3, NULL, 0);
  SolSignerSeed seed[3] = {{SEED_AUTHORITY, sizeof(SEED_AUTHORITY)}, {c->reserve_key->x, 32}, {&c->bump, 1}};
  SolSignerSeeds seeds = {seed, 3};
  return sol_invoke_signed_c(&ix, infos, 3, &seeds, 1);
}

/* ---- logs and return data ------------------------------------------------------------------ */
static void report(const char *name, u64 name_len, u64 assets, u64 shares) {
  u64 result[2] = {assets, shares};
  sol_set_return_data((const u8 *)result, sizeof(result));
  char line[96];
  static const char PREFIX[] = "reev-lend ";
  u64 n = sizeof(PREFIX) - 1;
  sol_memcpy_(line, PREFIX, n);
  sol_memcpy_(line + n, name, name_len);
  n += name_len;
  sol_memcpy_(line + n, " assets=", 8);
  n += 8;
  n += format_u64(line + n, assets);
  sol_memcpy_(line + n, " shares=", 8);
  n += 8;
  n += format_u64(line + n, shares);
  sol_log_(line, n);
}

/* ---- InitMarket ------------------------------------------------------------------------------- */
static u64 init_market(const SolParameters *params) {
  if (params->data_len != 3) return E_INVALID_INSTRUCTION;
  if (params->ka_num < 2) return E_NOT_ENOUGH_ACCOUNTS;
  const SolAccountInfo *admin = &params->ka[0], *account = &params->ka[1];
  if (!admin->is_signer) return E_MISSING_SIGNER;
  if (!pubkey_eq(account->owner, params->program_id) || account->data_len != MARKET_LEN || !account->is_writable)
    return E_INVALID_MARKET;
  if (!is_zero(account->data, MARKET_LEN)) return E_ALREADY_INITIALIZED;
  u16 close_factor = (u16)(params->data[1] | (params->data[2] << 8));
  if (close_factor == 0 || close_factor > BPS) return E_INVALID_CONFIG;
  Market *m = (Market *)account->data;
  sol_memcpy_(m->discriminator, MARKET_DISCRIMINATOR, 8);
  m->version = VERSION;
  m->close_factor_bps = close_factor;
  m->admin = *admin->key;
  return SUCCESS;
}

/* ---- InitReserve -------------------------------------------------------------------------------- */
static u64 check_config(const Reserve *r) {
  if (!(r->ltv_bps < r->liquidation_threshold_bps && r->liquidation_threshold_bps < BPS)) return E_INVALID_CONFIG;
  if ((u64)r->liquidation_threshold_bps * (BPS + r->liquidation_bonus_bps) > BPS * BPS) return E_INVALID_CONFIG;
  if (r->kink_bps == 0 || r->kink_bps >= BPS) return E_INVALID_CONFIG;
  if ((u64)r->base_rate_bps + r->slope1_bps + r->slope2_bps > 100000) return E_INVALID_CONFIG;
  if (r->max_price_age_slots == 0) return E_INVALID_CONFIG;
  return SUCCESS;
}

static u64 init_reserve(const SolParameters *params) {
  if (params->data_len != 25) return E_INVALID_INSTRUCTION;
  if (params->ka_num < 9) return E_NOT_ENOUGH_ACCOUNTS;
  const SolAccountInfo *ka = params->ka;
  const SolAccountInfo *admin = &ka[0], *market_account = &ka[1], *account = &ka[2], *authority = &ka[3],
                       *mint = &ka[4], *vault = &ka[5], *share_mint = &ka[6], *oracle = &ka[7], *token = &ka[8];
  if (!admin->is_signer) return E_MISSING_SIGNER;
  Market *m;
  TRY(load_market(params, market_account, &m));
  if (!market_account->is_writable) return E_INVALID_MARKET;
  if (!pubkey_eq(&m->admin, admin->key)) return E_UNAUTHORIZED;
  if (!pubkey_eq(account->owner, params->program_id) || account->data_len != RESERVE_LEN || !account->is_writable)
    return E_INVALID_RESERVE;
  if (!is_zero(account->data, RESERVE_LEN)) return E_ALREADY_INITIALIZED;
  Reserve *r = (Reserve *)account->data;
  const u8 *d = params->data + 1;
  r->ltv_bps = *(const u16 *)d;
  r->liquidation_threshold_bps = *(const u16 *)(d + 2);
  r->liquidation_bonus_bps = *(const u16 *)(d + 4);
  r->kink_bps = *(const u16 *)(d + 6);
  r->base_rate_bps = *(const u32 *)(d + 8);
  r->slope1_bps = *(const u32 *)(d + 12);
  r->slope2_bps = *(const u32 *)(d + 16);
  r->max_price_age_slots = *(const u32 *)(d + 20);
  TRY(check_config(r));
  if (m->reserve_count >= MAX_RESERVES) return E_MARKET_FULL;
  for (u8 i = 0; i < m->reserve_count; i++)
    if (pubkey_eq(&m->entries[i].mint, mint->key)) return E_DUPLICATE_RESERVE;
  TRY(check_token_program(token));
  if (!pubkey_eq(mint->owner, &TOKEN_PROGRAM)) return E_WRONG_TOKEN_PROGRAM;
  if (mint->data_len != MINT_LEN || mint->data[MINT_INITIALIZED] != 1) return E_WRONG_MINT;
  u8 decimals = mint->data[MINT_DECIMALS];
  if (decimals > MAX_DECIMALS) return E_INVALID_CONFIG;

  SolPubkey expected;
  u8 bump;
  SolSignerSeed seeds[2] = {{SEED_AUTHORITY, sizeof(SEED_AUTHORITY)}, {account->key->x, 32}};
  if (sol_try_find_program_address(seeds, 2, params->program_id, &expected, &bump) != SUCCESS ||
      !pubkey_eq(&expected, authority->key))
    return E_INVALID_AUTHORITY;
  const u8 *v = vault->data;
  if (!is_token_account(vault) || v[ACCOUNT_STATE] != 1 ||
      !pubkey_eq((const SolPubkey *)(v + ACCOUNT_MINT), mint->key) ||
      !pubkey_eq((const SolPubkey *)(v + ACCOUNT_OWNER), authority->key) || read_u64(v + ACCOUNT_AMOUNT) != 0 ||
      *(const u32 *)(v + ACCOUNT_DELEGATE) != 0 || *(const u32 *)(v + ACCOUNT_CLOSE_AUTHORITY) != 0)
    return E_INVALID_VAULT;
  const u8 *s = share_mint->data;
  if (!pubkey_eq(share_mint->owner, &TOKEN_PROGRAM) || share_mint->data_len != MINT_LEN ||
      s[MINT_INITIALIZED] != 1 || read_u64(s + MINT_SUPPLY) != 0 || s[MINT_DECIMALS] != decimals ||
      *(const u32 *)(s + MINT_AUTHORITY_OPTION) != 1 ||
      !pubkey_eq((const SolPubkey *)(s + MINT_AUTHORITY), authority->key) ||
      *(const u32 *)(s + MINT_FREEZE_OPTION) != 0)
    return E_INVALID_SHARE_MINT;
  if (!owned(params, oracle, ORACLE_LEN, ORACLE_DISCRIMINATOR)) return E_INVALID_ORACLE;
  if (!pubkey_eq(&((const Oracle *)oracle->data)->mint, mint->key)) return E_WRONG_ORACLE;

  sol_memcpy_(r->discriminator, RESERVE_DISCRIMINATOR, 8);
  r->version = VERSION;
  r->index = m->reserve_count;
  r->authority_bump = bump;
  r->decimals = decimals;
  r->market = *market_account->key;
  r->asset_mint = *mint->key;
  r->vault = *vault->key;
  r->share_mint = *share_mint->key;
  r->oracle = *oracle->key;
  r->last_update_slot = current_slot();
  m->entries[m->reserve_count].reserve = *account->key;
  m->entries[m->reserve_count].mint = *mint->key;
  m->reserve_count += 1;
  return SUCCESS;
}

/* ---- AccrueInterest ----------------------------------------------------------------------------- */
static u64 accrue_interest(const SolParameters *params) {
  if (params->data_len != 1) return E_INVALID_INSTRUCTION;
  if (params->ka_num < 1) return E_NOT_ENOUGH_ACCOUNTS;
  Reserve *r;
  TRY(load_reserve(params, &params->ka[0], &r));
  return accrue(r, current_slot());
}

/* ---- Earn: Deposit, Withdraw, Mint, Redeem ------------------------------------------------------- */
enum { DEPOSIT = 4, WITHDRAW = 5, MINT = 6, REDEEM = 7 };

static u64 earn(const SolParameters *params, u8 kind) {
  if (params->data_len != 9) return E_INVALID_INSTRUCTION;
  if (params->ka_num < 8) return E_NOT_ENOUGH_ACCOUNTS;
  const SolAccountInfo *ka = params->ka;
  const SolAccountInfo *user = &ka[0], *reserve_account = &ka[1], *authority = &ka[2], *vault = &ka[3],
                       *share_mint = &ka[4], *from = &ka[5], *to = &ka[6], *token = &ka[7];
  bool in = kind == DEPOSIT || kind == MINT;
  if (!user->is_signer) return E_MISSING_SIGNER;
  Reserve *r;
  TRY(load_reserve(params, reserve_account, &r));
  TRY(check_vault(r, vault, authority));
  if (!pubkey_eq(share_mint->key, &r->share_mint)) return E_WRONG_SHARE_MINT;
  if (in) {
    TRY(check_token_account(from, &r->asset_mint, NULL));
    TRY(check_token_account(to, &r->share_mint, NULL));
  } else {
    TRY(check_token_account(from, &r->share_mint, user->key));
    TRY(check_token_account(to, &r->asset_mint, NULL));
  }
  TRY(check_token_program(token));
  u64 amount = read_u64(params->data + 1);
  if (amount == 0) return E_ZERO_AMOUNT;
  TRY(accrue(r, current_slot()));
  u64 assets1, shares1, assets, shares;
  TRY(earn_totals(r, &assets1, &shares1));
  if (kind == DEPOSIT) {
    assets = amount;
    TRY(mdf(assets, shares1, assets1, &shares));
    if (shares == 0) return E_ZERO_SHARES;
  } else if (kind == MINT) {
    shares = amount;
    TRY(mdc(shares, assets1, shares1, &assets));
  } else {
    u64 held = read_u64(from->data + ACCOUNT_AMOUNT);
    if (kind == WITHDRAW) {
      assets = amount;
      TRY(mdc(assets, shares1, assets1, &shares));
      if (shares > held) return E_INSUFFICIENT_SHARES;
    } else {
      shares = amount;
      if (shares > held) return E_INSUFFICIENT_SHARES;
      TRY(mdf(shares, assets1, shares1, &assets));
      if (assets == 0) return E_ZERO_ASSETS;
    }
    if (assets > r->available) return E_INSUFFICIENT_LIQUIDITY;
  }
  if (in) {
    u64 available, supply, total;
    TRY(add(r->available, assets, &available));
    TRY(add(r->supply_shares, shares, &supply));
    TRY(add(available, r->borrowed, &total));
    TokenCall pay = {token, from, vault, user, NULL, 0, TOKEN_IX_TRANSFER, assets};
    TRY(token_call(&pay));
    TokenCall mint = {token, share_mint, to, authority, reserve_account->key, r->authority_bump, TOKEN_IX_MINT_TO,
                      shares};
    TRY(token_call(&mint));
    r->available = available;
    r->supply_shares = supply;
  } else {
    TokenCall burn = {token, from, share_mint, user, NULL, 0, TOKEN_IX_BURN, shares};
    TRY(token_call(&burn));
    TokenCall pay = {token, vault, to, authority, reserve_account->key, r->authority_bump, TOKEN_IX_TRANSFER,
                     assets};
    TRY(token_call(&pay));
    r->available -= assets;
    r->supply_shares -= shares;
  }
  static const char NAMES[4][8] = {"deposit", "withdraw", "mint", "redeem"};
  static const u8 LENGTHS[4] = {7, 8, 4, 6};
  report(NAMES[kind - DEPOSIT], LENGTHS[kind - DEPOSIT], assets, shares);
  return SUCCESS;
}

/* ---- InitObligation ---------------------------------------------------------------------------- */
typedef struct {
  u64 lamports_per_byte_year;
  u64 exemption_threshold_bits; /* f64 */
  u8 burn_percent;
} Rent;

/* Rent-exempt minimum of `space` bytes, the f64 threshold applied in integers (as the AMM). */
static u64 rent_exempt_minimum(u64 space) {
  Rent rent;
  sol_get_rent_sysvar(&rent);
  u64 bits = rent.exemption_threshold_bits;
  u64 exponent = (bits >> 52) & 0x7ff;
  u64 mantissa = (bits & ((1ull << 52) - 1)) | (1ull << 52);
  u128 product = mul64((128 + space) * rent.lamports_per_byte_year, mantissa);
  if (exponent >= 1075) return product.lo << (exponent - 1075);
  u64 shift = 1075 - exponent;
  if (shift >= 128) return 0;
  if (shift >= 64) return product.hi >> (shift - 64);
  return (product.lo >> shift) | (shift ? product.hi << (64 - shift) : 0);
}

static u64 system_call(const SolAccountInfo *payer, SolAccountInfo *target, const SolSignerSeeds *seeds,
                       const u8 *data, u64 data_len) {
  bool with_payer = seeds == NULL || data[0] == 0; /* Transfer and CreateAccount need the payer */
  SolAccountMeta metas[2] = {{payer->key, true, true}, {target->key, true, seeds != NULL}};
  SolAccountInfo infos[2] = {*payer, *target};
  SolInstruction ix = {&SYSTEM_PROGRAM, with_payer ? metas : metas + 1, with_payer ? 2 : 1, data, data_len};
  u64 result = sol_invoke_signed_c(&ix, with_payer ? infos : infos + 1, with_payer ? 2 : 1, seeds, seeds ? 1 : 0);
  target->data_len = infos[1].data_len;
  target->owner = infos[1].owner;
  target->data = infos[1].data;
  return result;
}

static u64 init_obligation(SolParameters *params) {
  if (params->data_len != 1) return E_INVALID_INSTRUCTION;
  if (params->ka_num < 4) return E_NOT_ENOUGH_ACCOUNTS;
  SolAccountInfo *ka = params->ka;
  const SolAccountInfo *owner = &ka[0], *market_account = &ka[1], *system = &ka[3];
  SolAccountInfo *account = &ka[2];
  if (!owner->is_signer || !owner->is_writable) return E_MISSING_SIGNER;
  Market *m;
  TRY(load_market(params, market_account, &m));
  SolPubkey expected;
  u8 bump;
  SolSignerSeed seed[4] = {{SEED_OBLIGATION, sizeof(SEED_OBLIGATION)},
                           {market_account->key->x, 32},
                           {owner->key->x, 32},
                           {&bump, 1}};
  if (sol_try_find_program_address(seed, 3, params->program_id, &expected, &bump) != SUCCESS ||
      !pubkey_eq(&expected, account->key) || !account->is_writable)
    return E_INVALID_OBLIGATION;
  if (!pubkey_eq(system->key, &SYSTEM_PROGRAM)) return E_INVALID_SYSTEM_PROGRAM;
  if (account->data_len != 0) return E_ALREADY_INITIALIZED;
  SolSignerSeeds seeds = {seed, 4};
  u64 needed = rent_exempt_minimum(OBLIGATION_LEN), have = *account->lamports;
  if (have == 0) {
    u8 create[52]; /* CreateAccount: u32 0, u64 lamports, u64 space, owner */
    *(u32 *)create = 0;
    *(u64 *)(create + 4) = needed;
    *(u64 *)(create + 12) = OBLIGATION_LEN;
    sol_memcpy_(create + 20, params->program_id, 32);
    TRY(system_call(owner, account, &seeds, create, sizeof(create)));
  } else {
    if (have < needed) {
      u8 transfer[12]; /* Transfer: u32 2, u64 lamports */
      *(u32 *)transfer = 2;
      *(u64 *)(transfer + 4) = needed - have;
      TRY(system_call(owner, account, NULL, transfer, sizeof(transfer)));
    }
    u8 allocate[12]; /* Allocate: u32 8, u64 space */
    *(u32 *)allocate = 8;
    *(u64 *)(allocate + 4) = OBLIGATION_LEN;
    TRY(system_call(owner, account, &seeds, allocate, sizeof(allocate)));
    u8 assign[36]; /* Assign: u32 1, owner */
    *(u32 *)assign = 1;
    sol_memcpy_(assign + 4, params->program_id, 32);
    TRY(system_call(owner, account, &seeds, assign, sizeof(assign)));
  }
  Obligation *o = (Obligation *)account->data;
  sol_memcpy_(o->discriminator, OBLIGATION_DISCRIMINATOR, 8);
  o->version = VERSION;
  o->bump = bump;
  o->market = *market_account->key;
  o->owner = *owner->key;
  return SUCCESS;
}

/* ---- pairs and health ---------------------------------------------------------------------------- */
typedef struct {
  Reserve *reserve[MAX_RESERVES];
  const SolAccountInfo *oracle[MAX_RESERVES];
  u64 price[MAX_RESERVES];
  u64 mask; /* reserve indexes named by the pairs */
} Pairs;

static u64 positions_mask(const Obligation *o) {
  u64 mask = 0;
  for (u64 i = 0; i < MAX_RESERVES; i++)
    if (o->collateral[i] || o->borrow_shares[i]) mask |= 1ull << i;
  return mask;
}

/* The (reserve, oracle) pairs from account `first` on: exactly the obligation's positions plus
 * `acted`, ascending, every reserve of the obligation's market (account checks only). */
typedef struct {
  const SolParameters *params;
  const Obligation *obligation;
  u64 first;
  u64 acted;
} PairSpec;

static u64 load_pairs(const PairSpec *spec, Pairs *p) {
  const SolParameters *params = spec->params;
  u64 expected = positions_mask(spec->obligation) | spec->acted;
  u64 count = params->ka_num > spec->first ? params->ka_num - spec->first : 0;
  if (count % 2 != 0 || params->ka_num > SOL_MAX_ACCOUNTS) return E_MISSING_RESERVE;
  p->mask = 0;
  u64 last = 0;
  for (u64 k = 0; k < count; k += 2) {
    Reserve *r;
    TRY(load_reserve(params, &params->ka[spec->first + k], &r));
    if (!pubkey_eq(&r->market, &spec->obligation->market)) return E_WRONG_MARKET;
    u64 bit = 1ull << r->index;
    if (r->index >= MAX_RESERVES || !(expected & bit) || (k > 0 && r->index <= last)) return E_MISSING_RESERVE;
    last = r->index;
    p->mask |= bit;
    p->reserve[r->index] = r;
    p->oracle[r->index] = &params->ka[spec->first + k + 1];
  }
  return p->mask == expected ? SUCCESS : E_MISSING_RESERVE;
}

/* Accrues every pair's reserve and reads its price, in pair order. */
static u64 refresh_pairs(const SolParameters *params, Pairs *p, u64 slot) {
  for (u64 i = 0; i < MAX_RESERVES; i++) {
    if (!(p->mask & (1ull << i))) continue;
    TRY(accrue(p->reserve[i], slot));
    TRY(read_price(params, p->oracle[i], p->reserve[i], slot, &p->price[i]));
  }
  return SUCCESS;
}

typedef struct {
  u64 collateral_value, borrow_limit, liquidation_limit, debt_value;
} Health;

static u64 health(const Obligation *o, const Pairs *p, Health *h) {
  h->collateral_value = h->borrow_limit = h->liquidation_limit = h->debt_value = 0;
  for (u64 i = 0; i < MAX_RESERVES; i++) {
    if (!(o->collateral[i] || o->borrow_shares[i])) continue;
    const Reserve *r = p->reserve[i];
    u64 scale = pow10(r->decimals), value, part, debt;
    TRY(mdf(o->collateral[i], p->price[i], scale, &value));
    TRY(add(h->collateral_value, value, &h->collateral_value));
    TRY(mdf(value, r->ltv_bps, BPS, &part));
    TRY(add(h->borrow_limit, part, &h->borrow_limit));
    TRY(mdf(value, r->liquidation_threshold_bps, BPS, &part));
    TRY(add(h->liquidation_limit, part, &h->liquidation_limit));
    TRY(debt_of(r, o->borrow_shares[i], &debt));
    TRY(mdc(debt, p->price[i], scale, &part));
    TRY(add(h->debt_value, part, &h->debt_value));
  }
  return SUCCESS;
}

/* ---- DepositCollateral, WithdrawCollateral, Borrow ------------------------------------------------ */
enum { DEPOSIT_COLLATERAL = 8, WITHDRAW_COLLATERAL = 9, BORROW = 10 };

static u64 collateral_or_borrow(const SolParameters *params, u8 kind) {
  if (params->data_len != 9) return E_INVALID_INSTRUCTION;
  bool out = kind != DEPOSIT_COLLATERAL;
  if (params->ka_num < (out ? 7 : 6)) return E_NOT_ENOUGH_ACCOUNTS;
  const SolAccountInfo *ka = params->ka;
  const SolAccountInfo *owner = &ka[0], *obligation_account = &ka[1], *reserve_account = &ka[2];
  const SolAccountInfo *authority = out ? &ka[3] : NULL, *vault = &ka[out ? 4 : 3], *user = &ka[out ? 5 : 4],
                       *token = &ka[out ? 6 : 5];
  if (!owner->is_signer) return E_MISSING_SIGNER;
  Obligation *o;
  TRY(load_obligation(params, obligation_account, &o));
  if (!pubkey_eq(&o->owner, owner->key)) return E_UNAUTHORIZED;
  Reserve *r;
  TRY(load_reserve(params, reserve_account, &r));
  if (!pubkey_eq(&r->market, &o->market)) return E_WRONG_MARKET;
  TRY(check_vault(r, vault, authority));
  TRY(check_token_account(user, &r->asset_mint, NULL));
  TRY(check_token_program(token));
  Pairs pairs;
  if (out) {
    PairSpec spec = {params, o, 7, 1ull << r->index};
    TRY(load_pairs(&spec, &pairs));
  }
  u64 amount = read_u64(params->data + 1), i = r->index;
  if (amount == 0) return E_ZERO_AMOUNT;
  if (kind == DEPOSIT_COLLATERAL) {
    u64 total, mine;
    TRY(add(r->total_collateral, amount, &total));
    TRY(add(o->collateral[i], amount, &mine));
    TokenCall pay = {token, user, vault, owner, NULL, 0, TOKEN_IX_TRANSFER, amount};
    TRY(token_call(&pay));
    r->total_collateral = total;
    o->collateral[i] = mine;
    return SUCCESS;
  }
  TRY(refresh_pairs(params, &pairs, current_slot()));
  Health h;
  if (kind == WITHDRAW_COLLATERAL) {
    if (amount > o->collateral[i]) return E_INSUFFICIENT_COLLATERAL;
    o->collateral[i] -= amount;
    r->total_collateral -= amount;
    TRY(health(o, &pairs, &h));
    if (h.debt_value > h.liquidation_limit) return E_UNHEALTHY;
  } else {
    if (amount > r->available) return E_INSUFFICIENT_LIQUIDITY;
    u64 shares = amount, mine, total, borrowed;
    if (r->borrow_shares != 0 && r->borrowed != 0) TRY(mdc(amount, r->borrow_shares, r->borrowed, &shares));
    TRY(add(o->borrow_shares[i], shares, &mine));
    TRY(add(r->borrow_shares, shares, &total));
    TRY(add(r->borrowed, amount, &borrowed));
    o->borrow_shares[i] = mine;
    r->borrow_shares = total;
    r->borrowed = borrowed;
    r->available -= amount;
    TRY(health(o, &pairs, &h));
    if (h.debt_value > h.borrow_limit) return E_BORROW_LIMIT_EXCEEDED;
  }
  TokenCall pay = {token, vault, user, authority, reserve_account->key, r->authority_bump, TOKEN_IX_TRANSFER, amount};
  return token_call(&pay);
}

/* ---- Repay and Liquidate -------------------------------------------------------------------------- */
/* (repaid, shares burnt) for paying up to `amount` of the debt of `shares` (docs: "Repay"). */
static u64 repay_shares(const Reserve *r, u64 shares, u64 amount, u64 *repaid, u64 *burnt) {
  u64 owed;
  TRY(debt_of(r, shares, &owed));
  if (amount >= owed) {
    *repaid = owed;
    *burnt = shares;
    return SUCCESS;
  }
  TRY(mdf(amount, r->borrow_shares, r->borrowed, burnt));
  if (*burnt == 0) return E_ZERO_SHARES;
  *repaid = amount;
  return SUCCESS;
}

static u64 apply_repay(Reserve *r, Obligation *o, u64 repaid, u64 burnt) {
  u64 available;
  TRY(add(r->available, repaid, &available));
  r->borrowed -= repaid < r->borrowed ? repaid : r->borrowed;
  r->available = available;
  r->borrow_shares -= burnt;
  o->borrow_shares[r->index] -= burnt;
  return SUCCESS;
}

static u64 repay(const SolParameters *params) {
  if (params->data_len != 9) return E_INVALID_INSTRUCTION;
  if (params->ka_num < 6) return E_NOT_ENOUGH_ACCOUNTS;
  const SolAccountInfo *ka = params->ka;
  const SolAccountInfo *payer = &ka[0], *obligation_account = &ka[1], *reserve_account = &ka[2], *vault = &ka[3],
                       *source = &ka[4], *token = &ka[5];
  if (!payer->is_signer) return E_MISSING_SIGNER;
  Obligation *o;
  TRY(load_obligation(params, obligation_account, &o));
  Reserve *r;
  TRY(load_reserve(params, reserve_account, &r));
  if (!pubkey_eq(&r->market, &o->market)) return E_WRONG_MARKET;
  TRY(check_vault(r, vault, NULL));
  TRY(check_token_account(source, &r->asset_mint, NULL));
  TRY(check_token_program(token));
  u64 amount = read_u64(params->data + 1);
  if (amount == 0) return E_ZERO_AMOUNT;
  TRY(accrue(r, current_slot()));
  u64 shares = o->borrow_shares[r->index], repaid, burnt;
  if (shares == 0) return E_NO_DEBT;
  TRY(repay_shares(r, shares, amount, &repaid, &burnt));
  if (repaid != 0) {
    TokenCall pay = {token, source, vault, payer, NULL, 0, TOKEN_IX_TRANSFER, repaid};
    TRY(token_call(&pay));
  }
  TRY(apply_repay(r, o, repaid, burnt));
  report("repay", 5, repaid, burnt);
  return SUCCESS;
}

static u64 liquidate(const SolParameters *params) {
  if (params->data_len != 17) return E_INVALID_INSTRUCTION;
  if (params->ka_num < 11) return E_NOT_ENOUGH_ACCOUNTS;
  const SolAccountInfo *ka = params->ka;
  const SolAccountInfo *liquidator = &ka[0], *obligation_account = &ka[1], *market_account = &ka[2],
                       *debt_account = &ka[3], *coll_account = &ka[4], *coll_authority = &ka[5], *debt_vault = &ka[6],
                       *coll_vault = &ka[7], *source = &ka[8], *receiver = &ka[9], *token = &ka[10];
  if (!liquidator->is_signer) return E_MISSING_SIGNER;
  Obligation *o;
  TRY(load_obligation(params, obligation_account, &o));
  Market *m;
  TRY(load_market(params, market_account, &m));
  if (!pubkey_eq(market_account->key, &o->market)) return E_WRONG_MARKET;
  Reserve *d, *c;
  TRY(load_reserve(params, debt_account, &d));
  TRY(load_reserve(params, coll_account, &c));
  if (!pubkey_eq(&d->market, &o->market) || !pubkey_eq(&c->market, &o->market)) return E_WRONG_MARKET;
  TRY(check_vault(d, debt_vault, NULL));
  TRY(check_vault(c, coll_vault, coll_authority));
  TRY(check_token_account(source, &d->asset_mint, NULL));
  TRY(check_token_account(receiver, &c->asset_mint, NULL));
  TRY(check_token_program(token));
  Pairs pairs;
  PairSpec spec = {params, o, 11, (1ull << d->index) | (1ull << c->index)};
  TRY(load_pairs(&spec, &pairs));
  u64 repay_max = read_u64(params->data + 1), min_seize = read_u64(params->data + 9);
  if (repay_max == 0) return E_ZERO_AMOUNT;
  TRY(refresh_pairs(params, &pairs, current_slot()));
  u64 shares = o->borrow_shares[d->index];
  if (shares == 0) return E_NO_DEBT;
  if (o->collateral[c->index] == 0) return E_INSUFFICIENT_COLLATERAL;
  Health h;
  TRY(health(o, &pairs, &h));
  if (h.debt_value <= h.liquidation_limit) return E_NOT_LIQUIDATABLE;
  u64 owed, most, value, with_bonus, seize, repaid, burnt;
  TRY(debt_of(d, shares, &owed));
  TRY(mdf(owed, m->close_factor_bps, BPS, &most));
  if (most == 0) most = owed;
  repaid = repay_max < most ? repay_max : most;
  TRY(mdf(repaid, pairs.price[d->index], pow10(d->decimals), &value));
  TRY(mdf(value, BPS + c->liquidation_bonus_bps, BPS, &with_bonus));
  TRY(mdf(with_bonus, pow10(c->decimals), pairs.price[c->index], &seize));
  if (seize == 0) return E_ZERO_ASSETS;
  if (seize > o->collateral[c->index]) return E_LIQUIDATION_TOO_LARGE;
  if (seize < min_seize) return E_SLIPPAGE_EXCEEDED;
  TRY(repay_shares(d, shares, repaid, &repaid, &burnt));
  if (repaid != 0) {
    TokenCall pay = {token, source, debt_vault, liquidator, NULL, 0, TOKEN_IX_TRANSFER, repaid};
    TRY(token_call(&pay));
  }
  TokenCall take = {token, coll_vault, receiver, coll_authority, coll_account->key, c->authority_bump,
                    TOKEN_IX_TRANSFER, seize};
  TRY(token_call(&take));
  TRY(apply_repay(d, o, repaid, burnt));
  o->collateral[c->index] -= seize;
  c->total_collateral -= seize;
  report("liquidate", 9, repaid, seize);
  return SUCCESS;
}

/* ---- entrypoint ------------------------------------------------------------------------------ */
u64 entrypoint(u8 *input) {
  SolParameters params;
  sol_deserialize(input, &params);
  if (params.data_len == 0) return E_INVALID_INSTRUCTION;
  u8 tag = params.data[0];
  switch (tag) {
    case 0:
      return init_market(&params);
    case 1:
      return init_reserve(&params);
    case 2:
      return init_obligation(&params);
    case 3:
      return accrue_interest(&params);
    case DEPOSIT:
    case WITHDRAW:
    case MINT:
    case REDEEM:
      return earn(&params, tag);
    case DEPOSIT_COLLATERAL:
    case WITHDRAW_COLLATERAL:
    case BORROW:
      return collateral_or_borrow(&params, tag);
    case 11:
      return repay(&params);
    case 12:
      return liquidate(&params);
    default:
      return E_INVALID_INSTRUCTION;
  }
}
