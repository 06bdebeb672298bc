// A small rule-based agent for `reev run --agent-cmd "node tests/node/agent.mjs"`: it reads the
// request from REEV_PROMPT (and decimals from REEV_CONTEXT), builds a SOL or SPL Token transfer
// with @solana/web3.js, signs it with REEV_KEYPAIR and sends it to REEV_RPC_URL, confirming over
// REEV_WS_URL with web3.js's sendAndConfirmTransaction.
//
// For the tests: REEV_TEST_AMOUNT_FACTOR multiplies the amount (a wrong agent), REEV_TEST_HANG=1
// makes it hang after connecting (killed at the time limit).
import { readFileSync } from "node:fs";
import {
  Connection,
  Keypair,
  PublicKey,
  SystemProgram,
  Transaction,
  TransactionInstruction,
  sendAndConfirmTransaction,
} from "@solana/web3.js";

const TOKEN_PROGRAMS = new Set([
  "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
  "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
]);

function baseUnits(text, decimals) {
  const [whole, fraction = ""] = text.split(".");
  if (fraction.length > decimals) throw new Error(`${text} has more than ${decimals} decimals`);
  return BigInt(whole + fraction.padEnd(decimals, "0"));
}

function u64(value) {
  const data = Buffer.alloc(8);
  data.writeBigUInt64LE(value);
  return data;
}

async function main() {
  const prompt = process.env.REEV_PROMPT ?? "";
  const context = JSON.parse(process.env.REEV_CONTEXT ?? "{}");
  const payer = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(readFileSync(process.env.REEV_KEYPAIR, "utf8"))));
  const connection = new Connection(process.env.REEV_RPC_URL, {
    commitment: "confirmed",
    wsEndpoint: process.env.REEV_WS_URL,
  });
  console.log(`wallet ${payer.publicKey.toBase58()} on slot ${await connection.getSlot()}`);
  if (process.env.REEV_TEST_HANG === "1") {
    console.log("hanging");
    setInterval(() => {}, 1000); // keeps the event loop (and the process) alive
    await new Promise(() => {});
  }
  const factor = BigInt(process.env.REEV_TEST_AMOUNT_FACTOR ?? "1");
  const addresses = [...prompt.matchAll(/\(([1-9A-HJ-NP-Za-km-z]{32,44})\)/g)].map((m) => m[1]);
  const sol = prompt.match(/send ([0-9.]+) SOL/i);
  const token = prompt.match(/send ([0-9.]+) ([A-Za-z]+) from my token account/i);
  let instruction;
  if (token) {
    const [source, destination] = addresses;
    const account = (context.accounts ?? []).find((a) => a.address === source);
    const decimals = account?.token?.decimals;
    if (decimals === undefined || decimals === null) throw new Error(`no decimals for ${source} in REEV_CONTEXT`);
    const amount = baseUnits(token[1], decimals) * factor;
    const info = await connection.getAccountInfo(new PublicKey(source));
    if (!info || !TOKEN_PROGRAMS.has(info.owner.toBase58())) throw new Error(`${source} is not a token account`);
    instruction = new TransactionInstruction({
      programId: info.owner,
      keys: [
        { pubkey: new PublicKey(source), isSigner: false, isWritable: true },
        { pubkey: new PublicKey(destination), isSigner: false, isWritable: true },
        { pubkey: payer.publicKey, isSigner: true, isWritable: false },
      ],
      data: Buffer.concat([Buffer.from([3]), u64(amount)]), // SPL Token `Transfer`
    });
    console.log(`sending ${amount} base units of ${token[2]} from ${source} to ${destination}`);
  } else if (sol) {
    const to = addresses.find((a) => a !== payer.publicKey.toBase58());
    const lamports = baseUnits(sol[1], 9) * factor;
    instruction = SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: new PublicKey(to), lamports });
    console.log(`sending ${lamports} lamports to ${to}`);
  } else {
    throw new Error(`cannot understand: ${prompt}`);
  }
  const signature = await sendAndConfirmTransaction(connection, new Transaction().add(instruction), [payer], {
    commitment: "confirmed",
  });
  console.log(`confirmed ${signature}`);
}

main()
  .then(() => process.exit(0))
  .catch((error) => {
    console.error(error?.stack ?? String(error));
    process.exit(1);
  });
