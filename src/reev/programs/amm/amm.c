/* reev AMM: constant-product pools (x * y = k) between two SPL Token / Token-2022 mints.
 *
 * The interface (instructions, accounts, pool layout, errors, math) is docs/programs.md; this
 * file implements exactly that. Every account is checked before anything moves: the pool by
 * owner, size and discriminator, the authority by the PDA the vaults were verified to belong to
 * at creation, vaults and the LP mint against the addresses stored in the pool, token programs
 * against the mints' owners, user token accounts against their mint. Reserves live in the pool
 * account; what reaches or leaves a vault is measured on the vault's balance, so a Token-2022
 * transfer fee is accounted for exactly. Rounding always favours the pool.
 */
#include "reev_sdk.h"

/* ---- errors (docs/programs.md) ---------------------------------------------------------- */
enum {
  E_INVALID_INSTRUCTION = 1,
  E_NOT_ENOUGH_ACCOUNTS = 2,
  E_MISSING_SIGNER = 3,
  E_INVALID_POOL = 4,
  E_ALREADY_INITIALIZED = 5,
  E_INVALID_AUTHORITY = 6,
  E_INVALID_LP_MINT = 7,
  E_INVALID_MINT_ORDER = 8,
  E_WRONG_MINT = 9,
  E_WRONG_VAULT = 10,
  E_WRONG_TOKEN_PROGRAM = 11,
  E_INVALID_VAULT = 12,
  E_INVALID_FEE = 13,
  E_ZERO_AMOUNT = 14,
  E_SLIPPAGE_EXCEEDED = 15,
  E_INSUFFICIENT_LIQUIDITY = 16,
  E_MATH_OVERFLOW = 17,
  E_UNSUPPORTED_TRANSFER_FEE = 18,
  E_INVALID_TOKEN_ACCOUNT = 19,
  E_INVALID_SYSTEM_PROGRAM = 20,
  E_ZERO_LIQUIDITY = 21,
  E_UNSUPPORTED_MINT_EXTENSION = 22,
};

#define TRY(expr)                \
  do {                           \
    u64 _err = (expr);           \
    if (_err != SUCCESS) return _err; \
  } while (0)

/* ---- pool account layout ------------------------------------------------------------------ */
#define POOL_LEN 304
#define POOL_VERSION 1
#define BPS 10000

typedef struct {
  u8 discriminator[8]; /* "reevpool" */
  u8 version;
  u8 authority_bump;
  u8 lp_mint_bump;
  u8 flags; /* bit 0: mint A has a transfer fee; bit 1: mint B */
  u16 fee_bps;
  u16 reserved0;
  SolPubkey mint[2];
  SolPubkey vault[2];
  SolPubkey lp_mint;
  SolPubkey token_program[2];
  u64 reserve[2];
  u64 lp_supply;
  SolPubkey creator;
  u64 reserved1;
} Pool;

_Static_assert(sizeof(Pool) == POOL_LEN, "pool layout");
_Static_assert(__builtin_offsetof(Pool, mint) == 16, "mint_a offset");
_Static_assert(__builtin_offsetof(Pool, reserve) == 240, "reserve_a offset");
_Static_assert(__builtin_offsetof(Pool, creator) == 264, "creator offset");

static const u8 POOL_DISCRIMINATOR[8] = {'r', 'e', 'e', 'v', 'p', 'o', 'o', 'l'};

/* ---- well-known programs ------------------------------------------------------------------- */
static const SolPubkey TOKEN_PROGRAM = {{0x06, 0xdd, 0xf6, 0xe1, 0xd7, 0x65, 0xa1, 0x93, 0xd9, 0xcb, 0xe1,
                                         0x46, 0xce, 0xeb, 0x79, 0xac, 0x1c, 0xb4, 0x85, 0xed, 0x5f, 0x5b,
                                         0x37, 0x91, 0x3a, 0x8c, 0xf5, 0x85, 0x7e, 0xff, 0x00, 0xa9}};
static const SolPubkey TOKEN_2022_PROGRAM = {{0x06, 0xdd, 0xf6, 0xe1, 0xee, 0x75, 0x8f, 0xde, 0x18, 0x42, 0x5d,
                                              0xbc, 0xe4, 0x6c, 0xcd, 0xda, 0xb6, 0x1a, 0xfc, 0x4d, 0x83, 0xb9,
                                              0x0d, 0x27, 0xfe, 0xbd, 0xf9, 0x28, 0xd8, 0xa1, 0x8b, 0xfc}};
static const SolPubkey SYSTEM_PROGRAM = {{0}};

/* ---- SPL Token layouts ---------------------------------------------------------------------- */
#define MINT_LEN 82
#define MINT_SUPPLY 36
#define MINT_DECIMALS 44
#define MINT_INITIALIZED 45
#define ACCOUNT_LEN 165
#define ACCOUNT_MINT 0
#define ACCOUNT_OWNER 32
#define ACCOUNT_AMOUNT 64
#define ACCOUNT_DELEGATE 72 /* COption<Pubkey>: u32 tag + key */
#define ACCOUNT_STATE 108
#define ACCOUNT_CLOSE_AUTHORITY 129
#define TOKEN_2022_ACCOUNT_TYPE 165 /* 1 = mint, 2 = account; TLV extensions follow */
#define TOKEN_2022_TLV_START 166 /* after the account-type byte */
#define ACCOUNT_TYPE_MINT 1
#define ACCOUNT_TYPE_ACCOUNT 2
/* Token-2022 ExtensionType values a pool accepts on its mints (docs/programs.md): */
#define EXTENSION_TRANSFER_FEE_CONFIG 1 /* measured on the vault balances */
#define EXTENSION_INTEREST_BEARING_CONFIG 10 /* changes the UI amount only; raw amounts stay */
#define EXTENSION_METADATA_POINTER 18
#define EXTENSION_TOKEN_METADATA 19
#define LP_DECIMALS 9

#define TOKEN_IX_MINT_TO_CHECKED 14
#define TOKEN_IX_BURN_CHECKED 15
#define TOKEN_IX_TRANSFER_CHECKED 12
#define TOKEN_IX_INITIALIZE_MINT2 20

static inline bool is_token_program(const SolPubkey *key) {
  return pubkey_eq(key, &TOKEN_PROGRAM) || pubkey_eq(key, &TOKEN_2022_PROGRAM);
}

static inline u64 token_amount(const SolAccountInfo *account) {
  return read_u64(account->data + ACCOUNT_AMOUNT);
}

/* A token account of `mint` owned by `token_program` (initialized or frozen). A Token-2022
 * account longer than the base layout must say it is an account (type byte 2), so a mint with
 * extensions can never pass for one. */
static bool is_token_account_of(const SolAccountInfo *account, const SolPubkey *mint,
                                const SolPubkey *token_program) {
  return pubkey_eq(account->owner, token_program) && account->data_len >= ACCOUNT_LEN &&
         (account->data_len == ACCOUNT_LEN ||
          account->data[TOKEN_2022_ACCOUNT_TYPE] == ACCOUNT_TYPE_ACCOUNT) &&
         account->data[ACCOUNT_STATE] != 0 &&
         pubkey_eq((const SolPubkey *)(account->data + ACCOUNT_MINT), mint);
}

/* Walks a Token-2022 mint's extension list (type u16, length u16, value) and accepts only the
 * allowlist above: anything else (PermanentDelegate, TransferHook, NonTransferable, Pausable,
 * DefaultAccountState, ConfidentialTransfer, MintCloseAuthority, ...) could move vault tokens
 * behind the stored reserves, make every transfer fail, or re-create the mint later. Sets
 * `*fee` when TransferFeeConfig is present. */
static u64 check_mint_extensions(const SolAccountInfo *mint, bool *fee) {
  *fee = false;
  u64 at = TOKEN_2022_TLV_START;
  while (at + 4 <= mint->data_len) {
    u16 type = (u16)(mint->data[at] | (mint->data[at + 1] << 8));
    u16 len = (u16)(mint->data[at + 2] | (mint->data[at + 3] << 8));
    if (type == 0) return SUCCESS; /* uninitialized: end of the extensions */
    if (type == EXTENSION_TRANSFER_FEE_CONFIG)
      *fee = true;
    else if (type != EXTENSION_INTEREST_BEARING_CONFIG && type != EXTENSION_METADATA_POINTER &&
             type != EXTENSION_TOKEN_METADATA)
      return E_UNSUPPORTED_MINT_EXTENSION;
    at += 4 + (u64)len;
    if (at > mint->data_len) return E_UNSUPPORTED_MINT_EXTENSION; /* malformed list */
  }
  return SUCCESS;
}

/* ---- CPIs ------------------------------------------------------------------------------------- */
static const u8 SEED_AUTHORITY[] = {'a', 'u', 't', 'h', 'o', 'r', 'i', 't', 'y'};
static const u8 SEED_LP_MINT[] = {'l', 'p', '_', 'm', 'i', 'n', 't'};

/* What one token transfer needs; `seeds` is NULL when the owner signed the transaction. */
typedef struct {
  const SolAccountInfo *token_program;
  const SolAccountInfo *source;
  const SolAccountInfo *mint;
  const SolAccountInfo *destination;
  const SolAccountInfo *owner;
  const SolSignerSeeds *seeds;
  u64 amount;
} Transfer;

static u64 transfer_checked(const Transfer *t) {
  SolAccountMeta metas[4] = {
      {t->source->key, true, false},
      {t->mint->key, false, false},
      {t->destination->key, true, false},
      {t->owner->key, false, true},
  };
  u8 data[10];
  data[0] = TOKEN_IX_TRANSFER_CHECKED;
  *(u64 *)(data + 1) = t->amount; /* unaligned store: allowed by the VM */
  data[9] = t->mint->data[MINT_DECIMALS];
  SolAccountInfo infos[4] = {*t->source, *t->mint, *t->destination, *t->owner};
  SolInstruction ix = {t->token_program->key, metas, 4, data, sizeof(data)};
  return sol_invoke_signed_c(&ix, infos, 4, t->seeds, t->seeds ? 1 : 0);
}

/* MintToChecked (signed by the authority PDA) or BurnChecked (signed by the user). */
typedef struct {
  const SolAccountInfo *token_program;
  const SolAccountInfo *mint;
  const SolAccountInfo *account;
  const SolAccountInfo *authority;
  const SolSignerSeeds *seeds;
  u64 amount;
  u8 tag;
} Supply;

static u64 change_supply(const Supply *s) {
  bool mint_to = s->tag == TOKEN_IX_MINT_TO_CHECKED;
  /* MintTo: mint, account, authority; Burn: account, mint, owner */
  const SolAccountInfo *first = mint_to ? s->mint : s->account;
  const SolAccountInfo *second = mint_to ? s->account : s->mint;
  SolAccountMeta metas[3] = {
      {first->key, true, false},
      {second->key, true, false},
      {s->authority->key, false, true},
  };
  u8 data[10];
  data[0] = s->tag;
  *(u64 *)(data + 1) = s->amount;
  data[9] = LP_DECIMALS;
  SolAccountInfo infos[3] = {*first, *second, *s->authority};
  SolInstruction ix = {s->token_program->key, metas, 3, data, sizeof(data)};
  return sol_invoke_signed_c(&ix, infos, 3, s->seeds, s->seeds ? 1 : 0);
}

/* ---- shared account checks ----------------------------------------------------------------- */
static u64 load_pool(const SolParameters *params, const SolAccountInfo *account, Pool **pool) {
  if (!pubkey_eq(account->owner, params->program_id) || account->data_len != POOL_LEN ||
      !account->is_writable)
    return E_INVALID_POOL;
  Pool *p = (Pool *)account->data;
  if (read_u64(p->discriminator) != read_u64(POOL_DISCRIMINATOR) || p->version != POOL_VERSION)
    return E_INVALID_POOL;
  *pool = p;
  return SUCCESS;
}

/* The authority is the PDA ["authority", pool]; InitializePool checked that both vaults belong
 * to it and nothing but this program can sign for it, so comparing with vault A's owner is the
 * derivation check without paying for a hash. */
static u64 check_authority(const SolAccountInfo *authority, const SolAccountInfo *vault) {
  if (!pubkey_eq(authority->key, (const SolPubkey *)(vault->data + ACCOUNT_OWNER)))
    return E_INVALID_AUTHORITY;
  return SUCCESS;
}

/* Mint, vault and token program of pool side `side`, as passed by the client. */
static u64 check_side(const Pool *pool, int side, const SolAccountInfo *mint, const SolAccountInfo *vault,
                      const SolAccountInfo *token_program) {
  if (!pubkey_eq(mint->key, &pool->mint[side])) return E_WRONG_MINT;
  if (!pubkey_eq(vault->key, &pool->vault[side])) return E_WRONG_VAULT;
  if (!pubkey_eq(token_program->key, &pool->token_program[side])) return E_WRONG_TOKEN_PROGRAM;
  return SUCCESS;
}

/* A user's token account: of `mint`, under the pool's token program for it, not a vault. */
static u64 check_user_account(const Pool *pool, int side, const SolAccountInfo *account) {
  if (!is_token_account_of(account, &pool->mint[side], &pool->token_program[side]) ||
      pubkey_eq(account->key, &pool->vault[0]) || pubkey_eq(account->key, &pool->vault[1]))
    return E_INVALID_TOKEN_ACCOUNT;
  return SUCCESS;
}

static inline bool add_u64(u64 a, u64 b, u64 *out) {
  *out = a + b;
  return *out >= a;
}

/* ---- InitializePool ------------------------------------------------------------------------- */
typedef struct {
  u64 lamports_per_byte_year;
  u64 exemption_threshold_bits; /* f64 */
  u8 burn_percent;
} Rent;

/* Rent-exempt minimum of `space` bytes: (128 + space) * lamports_per_byte_year * threshold,
 * with the f64 threshold applied exactly in integers (mantissa and exponent). */
static u64 rent_exempt_minimum(u64 space) {
  Rent rent;
  sol_get_rent_sysvar(&rent);
  u64 bits = rent.exemption_threshold_bits;
  u64 exponent = (bits >> 52) & 0x7ff;
  u64 mantissa = (bits & ((1ull << 52) - 1)) | (1ull << 52);
  u128 product = mul64((128 + space) * rent.lamports_per_byte_year, mantissa);
  /* value = product * 2^(exponent - 1075) */
  if (exponent >= 1075) return product.lo << (exponent - 1075);
  u64 shift = 1075 - exponent;
  if (shift >= 128) return 0;
  if (shift >= 64) return product.hi >> (shift - 64);
  return (product.lo >> shift) | (shift ? product.hi << (64 - shift) : 0);
}

/* A System program CPI on `target` (signed by its PDA seeds), funded by `payer` when asked.
 * The runtime writes the target's new length into the account info it was given, so that
 * length is copied back: later CPIs pass `target` itself, and a stale length would read as the
 * AMM resizing an account it does not own. */
static u64 system_cpi(const SolAccountInfo *payer, SolAccountInfo *target, const SolSignerSeeds *seeds,
                      const u8 *data, u64 data_len, bool with_payer) {
  SolAccountMeta metas[2] = {{payer->key, true, true}, {target->key, true, true}};
  SolAccountInfo infos[2] = {*payer, *target};
  SolInstruction ix;
  ix.program_id = &SYSTEM_PROGRAM;
  ix.data = data;
  ix.data_len = data_len;
  ix.accounts = with_payer ? metas : metas + 1;
  ix.account_len = with_payer ? 2 : 1;
  u64 result = sol_invoke_signed_c(&ix, with_payer ? infos : infos + 1, with_payer ? 2 : 1, seeds, 1);
  target->data_len = infos[1].data_len;
  target->owner = infos[1].owner;
  return result;
}

/* Creates the LP mint at its PDA (also when someone sent lamports there beforehand) and
 * initialises it: SPL Token, 9 decimals, mint authority = the pool authority, no freeze. */
static u64 create_lp_mint(const SolAccountInfo *payer, SolAccountInfo *lp_mint, const SolAccountInfo *token,
                          const SolSignerSeeds *lp_seeds, const SolPubkey *authority) {
  u64 needed = rent_exempt_minimum(MINT_LEN);
  u64 have = *lp_mint->lamports;
  if (have == 0) {
    u8 create[52]; /* CreateAccount: u32 0, u64 lamports, u64 space, owner */
    *(u32 *)create = 0;
    *(u64 *)(create + 4) = needed;
    *(u64 *)(create + 12) = MINT_LEN;
    sol_memcpy_(create + 20, &TOKEN_PROGRAM, 32);
    TRY(system_cpi(payer, lp_mint, lp_seeds, create, sizeof(create), true));
  } else {
    if (have < needed) {
      u8 transfer[12]; /* Transfer: u32 2, u64 lamports */
      *(u32 *)transfer = 2;
      *(u64 *)(transfer + 4) = needed - have;
      SolAccountMeta metas[2] = {{payer->key, true, true}, {lp_mint->key, true, false}};
      SolAccountInfo infos[2] = {*payer, *lp_mint};
      SolInstruction ix = {&SYSTEM_PROGRAM, metas, 2, transfer, sizeof(transfer)};
      TRY(sol_invoke_signed_c(&ix, infos, 2, NULL, 0));
    }
    u8 allocate[12]; /* Allocate: u32 8, u64 space */
    *(u32 *)allocate = 8;
    *(u64 *)(allocate + 4) = MINT_LEN;
    TRY(system_cpi(payer, lp_mint, lp_seeds, allocate, sizeof(allocate), false));
    u8 assign[36]; /* Assign: u32 1, owner */
    *(u32 *)assign = 1;
    sol_memcpy_(assign + 4, &TOKEN_PROGRAM, 32);
    TRY(system_cpi(payer, lp_mint, lp_seeds, assign, sizeof(assign), false));
  }
  u8 init[67]; /* InitializeMint2: tag, decimals, mint authority, COption<freeze authority> */
  init[0] = TOKEN_IX_INITIALIZE_MINT2;
  init[1] = LP_DECIMALS;
  sol_memcpy_(init + 2, authority, 32);
  sol_memset_(init + 34, 0, 33);
  SolAccountMeta meta = {lp_mint->key, true, false};
  SolInstruction ix = {token->key, &meta, 1, init, sizeof(init)};
  return sol_invoke_signed_c(&ix, lp_mint, 1, NULL, 0);
}

static u64 check_new_vault(const SolAccountInfo *vault, const SolAccountInfo *mint,
                           const SolAccountInfo *token_program, const SolPubkey *authority) {
  const u8 *d = vault->data;
  if (!is_token_account_of(vault, mint->key, token_program->key) || d[ACCOUNT_STATE] != 1 ||
      !pubkey_eq((const SolPubkey *)(d + ACCOUNT_OWNER), authority) || read_u64(d + ACCOUNT_AMOUNT) != 0 ||
      *(const u32 *)(d + ACCOUNT_DELEGATE) != 0 || *(const u32 *)(d + ACCOUNT_CLOSE_AUTHORITY) != 0)
    return E_INVALID_VAULT;
  return SUCCESS;
}

/* A mint of `token_program`, initialized, and (Token-2022) with allowed extensions only;
 * `*fee` says whether it carries a transfer fee. */
static u64 check_new_mint(const SolAccountInfo *mint, const SolAccountInfo *token_program, bool *fee) {
  *fee = false;
  if (!is_token_program(token_program->key) || !pubkey_eq(mint->owner, token_program->key))
    return E_WRONG_TOKEN_PROGRAM;
  if (mint->data_len < MINT_LEN || mint->data[MINT_INITIALIZED] != 1) return E_WRONG_MINT;
  if (mint->data_len == MINT_LEN) return SUCCESS;
  if (mint->data_len <= TOKEN_2022_ACCOUNT_TYPE || mint->data[TOKEN_2022_ACCOUNT_TYPE] != ACCOUNT_TYPE_MINT)
    return E_WRONG_MINT;
  return check_mint_extensions(mint, fee);
}

static u64 initialize_pool(SolParameters *params) {
  if (params->data_len != 3) return E_INVALID_INSTRUCTION;
  if (params->ka_num < 12) return E_NOT_ENOUGH_ACCOUNTS;
  SolAccountInfo *ka = params->ka;
  const SolAccountInfo *payer = &ka[0], *pool_account = &ka[1], *authority = &ka[2];
  SolAccountInfo *lp_mint = &ka[3];
  const SolAccountInfo *mint_a = &ka[4], *mint_b = &ka[5], *vault_a = &ka[6], *vault_b = &ka[7];
  const SolAccountInfo *tp_a = &ka[8], *tp_b = &ka[9], *token = &ka[10], *system = &ka[11];
  u16 fee_bps = (u16)(params->data[1] | (params->data[2] << 8));

  if (!payer->is_signer) return E_MISSING_SIGNER;
  if (!pubkey_eq(pool_account->owner, params->program_id) || pool_account->data_len != POOL_LEN ||
      !pool_account->is_writable)
    return E_INVALID_POOL;
  if (!is_zero(pool_account->data, POOL_LEN)) return E_ALREADY_INITIALIZED;
  if (fee_bps >= BPS) return E_INVALID_FEE;
  if (!pubkey_lt(mint_a->key, mint_b->key)) return E_INVALID_MINT_ORDER;
  bool fee_a, fee_b;
  TRY(check_new_mint(mint_a, tp_a, &fee_a));
  TRY(check_new_mint(mint_b, tp_b, &fee_b));
  if (!pubkey_eq(token->key, &TOKEN_PROGRAM)) return E_WRONG_TOKEN_PROGRAM;
  if (!pubkey_eq(system->key, &SYSTEM_PROGRAM)) return E_INVALID_SYSTEM_PROGRAM;

  SolPubkey expected;
  u8 authority_bump, lp_bump;
  SolSignerSeed seeds[3] = {{SEED_AUTHORITY, sizeof(SEED_AUTHORITY)}, {pool_account->key->x, 32}, {NULL, 1}};
  if (sol_try_find_program_address(seeds, 2, params->program_id, &expected, &authority_bump) != SUCCESS ||
      !pubkey_eq(&expected, authority->key))
    return E_INVALID_AUTHORITY;
  seeds[0].addr = SEED_LP_MINT;
  seeds[0].len = sizeof(SEED_LP_MINT);
  if (sol_try_find_program_address(seeds, 2, params->program_id, &expected, &lp_bump) != SUCCESS ||
      !pubkey_eq(&expected, lp_mint->key))
    return E_INVALID_LP_MINT;
  TRY(check_new_vault(vault_a, mint_a, tp_a, authority->key));
  TRY(check_new_vault(vault_b, mint_b, tp_b, authority->key));

  seeds[2].addr = &lp_bump;
  SolSignerSeeds lp_seeds = {seeds, 3};
  TRY(create_lp_mint(payer, lp_mint, token, &lp_seeds, authority->key));

  Pool *pool = (Pool *)pool_account->data;
  sol_memcpy_(pool->discriminator, POOL_DISCRIMINATOR, 8);
  pool->version = POOL_VERSION;
  pool->authority_bump = authority_bump;
  pool->lp_mint_bump = lp_bump;
  pool->flags = (u8)((fee_a ? 1 : 0) | (fee_b ? 2 : 0));
  pool->fee_bps = fee_bps;
  pool->mint[0] = *mint_a->key;
  pool->mint[1] = *mint_b->key;
  pool->vault[0] = *vault_a->key;
  pool->vault[1] = *vault_b->key;
  pool->lp_mint = *lp_mint->key;
  pool->token_program[0] = *tp_a->key;
  pool->token_program[1] = *tp_b->key;
  pool->creator = *payer->key;
  return SUCCESS;
}

/* ---- liquidity ------------------------------------------------------------------------------ */
typedef struct {
  const SolParameters *params;
  Pool *pool;
  const SolAccountInfo *user, *pool_account, *authority, *lp_mint, *mint[2], *vault[2], *user_token[2],
      *user_lp, *token_program[2], *token;
  u64 a, b, c; /* the instruction's three u64 fields */
} Liquidity;

static u64 load_liquidity(const SolParameters *params, Liquidity *l) {
  if (params->data_len != 25) return E_INVALID_INSTRUCTION;
  if (params->ka_num < 14) return E_NOT_ENOUGH_ACCOUNTS;
  const SolAccountInfo *ka = params->ka;
  l->params = params;
  l->user = &ka[0];
  l->pool_account = &ka[1];
  l->authority = &ka[2];
  l->lp_mint = &ka[3];
  for (int side = 0; side < 2; side++) {
    l->mint[side] = &ka[4 + side];
    l->vault[side] = &ka[6 + side];
    l->user_token[side] = &ka[8 + side];
    l->token_program[side] = &ka[11 + side];
  }
  l->user_lp = &ka[10];
  l->token = &ka[13];
  l->a = read_u64(params->data + 1);
  l->b = read_u64(params->data + 9);
  l->c = read_u64(params->data + 17);
  if (!l->user->is_signer) return E_MISSING_SIGNER;
  TRY(load_pool(params, l->pool_account, &l->pool));
  for (int side = 0; side < 2; side++)
    TRY(check_side(l->pool, side, l->mint[side], l->vault[side], l->token_program[side]));
  TRY(check_authority(l->authority, l->vault[0]));
  if (!pubkey_eq(l->lp_mint->key, &l->pool->lp_mint)) return E_INVALID_LP_MINT;
  if (!pubkey_eq(l->token->key, &TOKEN_PROGRAM)) return E_WRONG_TOKEN_PROGRAM;
  for (int side = 0; side < 2; side++) TRY(check_user_account(l->pool, side, l->user_token[side]));
  if (!is_token_account_of(l->user_lp, &l->pool->lp_mint, &TOKEN_PROGRAM)) return E_INVALID_TOKEN_ACCOUNT;
  return SUCCESS;
}

/* Moves `amount` of side `side` from the user into its vault; returns what arrived. */
static u64 deposit(const Liquidity *l, int side, u64 amount, u64 *arrived) {
  u64 before = token_amount(l->vault[side]);
  Transfer t = {l->token_program[side], l->user_token[side], l->mint[side], l->vault[side], l->user, NULL, amount};
  TRY(transfer_checked(&t));
  *arrived = token_amount(l->vault[side]) - before;
  return SUCCESS;
}

static u64 add_liquidity(const SolParameters *params) {
  Liquidity l;
  TRY(load_liquidity(params, &l));
  Pool *pool = l.pool;
  u64 max[2] = {l.a, l.b}, min_lp = l.c;
  if (max[0] == 0 || max[1] == 0) return E_ZERO_AMOUNT;
  u64 supply = pool->lp_supply, take[2], lp = 0;
  if (supply == 0) {
    take[0] = max[0];
    take[1] = max[1];
  } else {
    u64 lp_side[2];
    for (int side = 0; side < 2; side++) {
      if (pool->reserve[side] == 0) return E_INSUFFICIENT_LIQUIDITY;
      /* too large for a u64: the other side's bound is the smaller one (or the transfer fails) */
      if (!mul_div_floor(max[side], supply, pool->reserve[side], &lp_side[side])) lp_side[side] = ~0ull;
    }
    lp = lp_side[0] < lp_side[1] ? lp_side[0] : lp_side[1];
    if (lp == 0) return E_ZERO_LIQUIDITY;
    for (int side = 0; side < 2; side++)
      if (!mul_div_ceil(lp, pool->reserve[side], supply, &take[side])) return E_MATH_OVERFLOW;
  }
  u64 arrived[2];
  for (int side = 0; side < 2; side++) TRY(deposit(&l, side, take[side], &arrived[side]));
  if (supply == 0) {
    lp = isqrt_mul(arrived[0], arrived[1]);
  } else {
    /* a transfer fee may have eaten part of a deposit: mint for what arrived, never more */
    for (int side = 0; side < 2; side++) {
      if (arrived[side] == take[side]) continue;
      u64 lp_side;
      if (!mul_div_floor(arrived[side], supply, pool->reserve[side], &lp_side)) return E_MATH_OVERFLOW;
      if (lp_side < lp) lp = lp_side;
    }
  }
  if (lp == 0) return E_ZERO_LIQUIDITY;
  if (lp < min_lp) return E_SLIPPAGE_EXCEEDED;
  u64 reserve[2], new_supply;
  for (int side = 0; side < 2; side++)
    if (!add_u64(pool->reserve[side], arrived[side], &reserve[side])) return E_MATH_OVERFLOW;
  if (!add_u64(supply, lp, &new_supply)) return E_MATH_OVERFLOW;

  SolSignerSeed seed[3] = {{SEED_AUTHORITY, sizeof(SEED_AUTHORITY)}, {l.pool_account->key->x, 32},
                           {&pool->authority_bump, 1}};
  SolSignerSeeds seeds = {seed, 3};
  Supply s = {l.token, l.lp_mint, l.user_lp, l.authority, &seeds, lp, TOKEN_IX_MINT_TO_CHECKED};
  TRY(change_supply(&s));
  pool->reserve[0] = reserve[0];
  pool->reserve[1] = reserve[1];
  pool->lp_supply = new_supply;
  return SUCCESS;
}

static u64 remove_liquidity(const SolParameters *params) {
  Liquidity l;
  TRY(load_liquidity(params, &l));
  Pool *pool = l.pool;
  u64 lp = l.a, min[2] = {l.b, l.c}, supply = pool->lp_supply, out[2];
  if (lp == 0) return E_ZERO_AMOUNT;
  if (lp > supply) return E_INSUFFICIENT_LIQUIDITY;
  for (int side = 0; side < 2; side++) {
    if (!mul_div_floor(lp, pool->reserve[side], supply, &out[side])) return E_MATH_OVERFLOW;
    if (out[side] < min[side]) return E_SLIPPAGE_EXCEEDED;
  }
  Supply s = {l.token, l.lp_mint, l.user_lp, l.user, NULL, lp, TOKEN_IX_BURN_CHECKED};
  TRY(change_supply(&s));
  SolSignerSeed seed[3] = {{SEED_AUTHORITY, sizeof(SEED_AUTHORITY)}, {l.pool_account->key->x, 32},
                           {&pool->authority_bump, 1}};
  SolSignerSeeds seeds = {seed, 3};
  for (int side = 0; side < 2; side++) {
    if (out[side] == 0) continue;
    Transfer t = {l.token_program[side], l.vault[side], l.mint[side], l.user_token[side], l.authority, &seeds,
                  out[side]};
    TRY(transfer_checked(&t));
  }
  pool->reserve[0] -= out[0];
  pool->reserve[1] -= out[1];
  pool->lp_supply = supply - lp;
  return SUCCESS;
}

/* ---- swaps ---------------------------------------------------------------------------------- */
static const char LOG_PREFIX[] = "reev-amm swap in=";

static u64 swap(const SolParameters *params, bool exact_in) {
  if (params->data_len != 17) return E_INVALID_INSTRUCTION;
  if (params->ka_num < 11) return E_NOT_ENOUGH_ACCOUNTS;
  const SolAccountInfo *ka = params->ka;
  const SolAccountInfo *user = &ka[0], *pool_account = &ka[1], *authority = &ka[2], *mint_in = &ka[3],
                       *mint_out = &ka[4], *vault_in = &ka[5], *vault_out = &ka[6], *user_in = &ka[7],
                       *user_out = &ka[8], *tp_in = &ka[9], *tp_out = &ka[10];
  u64 amount = read_u64(params->data + 1), limit = read_u64(params->data + 9);
  if (!user->is_signer) return E_MISSING_SIGNER;
  Pool *pool;
  TRY(load_pool(params, pool_account, &pool));
  int in;
  if (pubkey_eq(mint_in->key, &pool->mint[0]))
    in = 0;
  else if (pubkey_eq(mint_in->key, &pool->mint[1]))
    in = 1;
  else
    return E_WRONG_MINT;
  int out = 1 - in;
  TRY(check_side(pool, in, mint_in, vault_in, tp_in));
  TRY(check_side(pool, out, mint_out, vault_out, tp_out));
  TRY(check_authority(authority, vault_in));
  TRY(check_user_account(pool, in, user_in));
  TRY(check_user_account(pool, out, user_out));
  if (amount == 0) return E_ZERO_AMOUNT;
  if (!exact_in && (pool->flags & (1u << in))) return E_UNSUPPORTED_TRANSFER_FEE;
  u64 r_in = pool->reserve[in], r_out = pool->reserve[out];

  u64 gross, paid = 0; /* gross: what the user sends; paid: what leaves the output vault */
  if (exact_in) {
    gross = amount;
  } else {
    if (r_in == 0 || r_out == 0) return E_INSUFFICIENT_LIQUIDITY;
    paid = amount;
    if (paid >= r_out) return E_INSUFFICIENT_LIQUIDITY;
    u64 net, unused;
    if (!mul_div_ceil(r_in, paid, r_out - paid, &net)) return E_MATH_OVERFLOW;
    if (!mul_div_ceil(net, BPS, BPS - pool->fee_bps, &gross)) return E_MATH_OVERFLOW;
    if (!add_u64(r_in, gross, &unused)) return E_MATH_OVERFLOW;
    if (gross > limit) return E_SLIPPAGE_EXCEEDED;
  }
  u64 before = token_amount(vault_in);
  Transfer t = {tp_in, user_in, mint_in, vault_in, user, NULL, gross};
  TRY(transfer_checked(&t));
  u64 arrived = token_amount(vault_in) - before, new_r_in;
  if (arrived == 0) return E_ZERO_AMOUNT; /* a transfer fee took all of it */
  if (r_in == 0 || r_out == 0) return E_INSUFFICIENT_LIQUIDITY;
  if (!add_u64(r_in, arrived, &new_r_in)) return E_MATH_OVERFLOW;
  if (exact_in) {
    u64 fee, net;
    if (!mul_div_ceil(arrived, pool->fee_bps, BPS, &fee)) return E_MATH_OVERFLOW;
    net = arrived - fee;
    if (!mul_div_floor(net, r_out, r_in + net, &paid)) return E_MATH_OVERFLOW;
    if (paid == 0 || paid >= r_out) return E_INSUFFICIENT_LIQUIDITY;
  }
  SolSignerSeed seed[3] = {{SEED_AUTHORITY, sizeof(SEED_AUTHORITY)}, {pool_account->key->x, 32},
                           {&pool->authority_bump, 1}};
  SolSignerSeeds seeds = {seed, 3};
  u64 credited_before = token_amount(user_out);
  Transfer t_out = {tp_out, vault_out, mint_out, user_out, authority, &seeds, paid};
  TRY(transfer_checked(&t_out));
  u64 credited = token_amount(user_out) - credited_before;
  if (exact_in && credited < limit) return E_SLIPPAGE_EXCEEDED;
  pool->reserve[in] = new_r_in;
  pool->reserve[out] = r_out - paid;

  u64 result[2] = {gross, credited};
  sol_set_return_data((const u8 *)result, sizeof(result));
  char line[64];
  u64 n = sizeof(LOG_PREFIX) - 1;
  sol_memcpy_(line, LOG_PREFIX, n);
  n += format_u64(line + n, gross);
  sol_memcpy_(line + n, " out=", 5);
  n += 5;
  n += format_u64(line + n, credited);
  sol_log_(line, n);
  return SUCCESS;
}

/* ---- entrypoint ------------------------------------------------------------------------------ */
u64 entrypoint(u8 *input) {
  SolParameters params;
  sol_deserialize(input, &params);
  if (params.data_len == 0) return E_INVALID_INSTRUCTION;
  switch (params.data[0]) {
    case 0:
      return initialize_pool(&params);
    case 1:
      return add_liquidity(&params);
    case 2:
      return remove_liquidity(&params);
    case 3:
      return swap(&params, true);
    case 4:
      return swap(&params, false);
    default:
      return E_INVALID_INSTRUCTION;
  }
}
