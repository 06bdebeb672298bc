// A SOL transfer through @solana/web3.js against `reev chain serve`, with web3.js's own
// confirmation strategy (`sendAndConfirmTransaction`: a signatureSubscribe over the WebSocket
// raced against block-height polling), then a second transfer confirmed only by an
// `onSignature` WebSocket notification.
//
// Environment: REEV_RPC_URL, REEV_WS_URL, REEV_KEYPAIR (Solana CLI keypair file);
// optional REEV_TRANSFER_TO (default: a fresh address) and REEV_TRANSFER_LAMPORTS.
// Prints one JSON line with what it saw; exits non-zero on any failure.
import { readFileSync } from "node:fs";
import {
  Connection,
  Keypair,
  PublicKey,
  SystemProgram,
  Transaction,
  sendAndConfirmTransaction,
} from "@solana/web3.js";

const deadline = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, Number(process.env.REEV_TIMEOUT_MS ?? 30000));

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
function base58(bytes) {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let text = "";
  while (n > 0n) {
    text = ALPHABET[Number(n % 58n)] + text;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    text = "1" + text;
  }
  return text;
}

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function main() {
  const payer = Keypair.fromSecretKey(
    Uint8Array.from(JSON.parse(readFileSync(required("REEV_KEYPAIR"), "utf8"))),
  );
  const to = process.env.REEV_TRANSFER_TO
    ? new PublicKey(process.env.REEV_TRANSFER_TO)
    : Keypair.generate().publicKey;
  const lamports = Number(process.env.REEV_TRANSFER_LAMPORTS ?? 5_000_000);
  const connection = new Connection(required("REEV_RPC_URL"), {
    commitment: "confirmed",
    wsEndpoint: required("REEV_WS_URL"),
  });

  const before = await connection.getBalance(payer.publicKey);
  const first = new Transaction().add(
    SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports }),
  );
  const signature = await sendAndConfirmTransaction(connection, first, [payer], {
    commitment: "confirmed",
  });

  // Second transfer: signed first, subscribed to, then sent; only the WebSocket can confirm it.
  const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash();
  const second = new Transaction({ feePayer: payer.publicKey, blockhash, lastValidBlockHeight }).add(
    SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports }),
  );
  second.sign(payer);
  const secondSignature = base58(second.signatures[0].signature);
  const notified = new Promise((resolve) => {
    connection.onSignature(secondSignature, (result, context) => resolve({ result, context }), "confirmed");
  });
  const sent = await connection.sendRawTransaction(second.serialize());
  const notification = await notified;

  const after = await connection.getBalance(payer.publicKey);
  const received = await connection.getBalance(to);
  const status = await connection.getSignatureStatus(signature);
  const tx = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
  console.log(
    JSON.stringify({
      signature,
      second_signature: sent,
      second_notification: notification,
      payer: payer.publicKey.toBase58(),
      to: to.toBase58(),
      lamports,
      before,
      after,
      received,
      confirmation: status.value?.confirmationStatus ?? null,
      fee: tx?.meta?.fee ?? null,
      slot: tx?.slot ?? null,
    }),
  );
}

main()
  .then(() => {
    clearTimeout(deadline);
    process.exit(0); // web3.js keeps its WebSocket (and heartbeat) open
  })
  .catch((error) => {
    console.error(error?.stack ?? String(error));
    if (error?.logs) console.error(JSON.stringify(error.logs));
    process.exit(1);
  });
