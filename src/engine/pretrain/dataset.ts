/**
 * Pre-training data on disk: the run's WordPiece vocabulary and the packed token blocks, built once from the corpus
 * (corpus.ts) and cached under the work folder so that a resumed run reads exactly the same blocks.
 *
 *   <work>/tokenizer.json                    the vocabulary, trained on the train part only (never the held-out part)
 *   <work>/corpus-stats.json                 per-source sizes and the leakage-filter counts
 *   <work>/blocks-T<maxLen>/train.u16        packed train blocks, [N, maxLen] uint16
 *   <work>/blocks-T<maxLen>/heldout.u16      packed held-out blocks
 *   <work>/blocks-T<maxLen>/meta.json        counts and the tokenizer's hash (a stale cache is rebuilt)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { trainWordPiece } from '../tokenize/wordpiece-trainer';
import { loadTokenizer } from '../tokenize/load-tokenizer';
import type { TextTokenizer } from '../tokenize/text-tokenizer';
import { buildCorpus, type Corpus, type CorpusDocument } from './corpus';
import { packDocuments, type PackedBlocks } from './packing';

export interface DataOptions {
  /** The shared data folder (holds corpus/ and lm-bff/). */
  dataDir: string;
  /** The run's work folder (e.g. .cache/pretrain). */
  workDir: string;
  vocabSize: number;
  maxLen: number;
  log?: (line: string) => void;
}

export interface PreparedData {
  tokenizer: TextTokenizer;
  /** Path of the run's tokenizer.json. */
  tokenizerFile: string;
  train: PackedBlocks;
  heldOut: PackedBlocks;
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function tokenizeDocs(docs: CorpusDocument[], tok: TextTokenizer): Int32Array[] {
  return docs.map((d) => Int32Array.from(d.lines.flatMap((l) => tok.encode(l))));
}

function writeBlocks(file: string, packed: PackedBlocks): void {
  const u16 = Uint16Array.from(packed.tokens);
  fs.writeFileSync(file, Buffer.from(u16.buffer, u16.byteOffset, u16.byteLength));
}

function readBlocks(file: string, maxLen: number): PackedBlocks {
  const buf = fs.readFileSync(file);
  const u16 = new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2);
  const tokens = Int32Array.from(u16);
  return { tokens, maxLen, count: tokens.length / maxLen };
}

/** Builds (or reads from the cache) the vocabulary and the packed blocks. */
export async function prepareData(opts: DataOptions): Promise<PreparedData> {
  const log = opts.log ?? (() => undefined);
  fs.mkdirSync(opts.workDir, { recursive: true });
  const tokenizerFile = path.join(opts.workDir, 'tokenizer.json');
  let corpus: Corpus | undefined;
  const getCorpus = (): Corpus => {
    if (!corpus) {
      const t0 = Date.now();
      corpus = buildCorpus(opts.dataDir);
      const stats = { trainDocuments: corpus.train.length, heldOutDocuments: corpus.heldOut.length, testSentences: corpus.testSentences, sources: corpus.stats, droppedExamples: corpus.droppedExamples };
      fs.writeFileSync(path.join(opts.workDir, 'corpus-stats.json'), JSON.stringify(stats, null, 2));
      log(`corpus: ${corpus.train.length} train / ${corpus.heldOut.length} held-out documents, built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    return corpus;
  };
  if (!fs.existsSync(tokenizerFile)) {
    const t0 = Date.now();
    const json = trainWordPiece(getCorpus().train.map((d) => d.lines.join('\n')), { vocabSize: opts.vocabSize, lowercase: true, minFrequency: 2 });
    fs.writeFileSync(tokenizerFile, JSON.stringify(json));
    log(`vocabulary: ${opts.vocabSize} WordPiece entries trained in ${((Date.now() - t0) / 1000).toFixed(1)} s → ${tokenizerFile}`);
  }
  const tokenizer = await loadTokenizer(opts.workDir);
  if (tokenizer.vocabSize > 65536) throw new Error(`dataset.ts: vocabulary of ${tokenizer.vocabSize} entries does not fit the uint16 block cache; use vocabSize ≤ 65536`);
  const hash = sha256(tokenizerFile);
  const blockDir = path.join(opts.workDir, `blocks-T${opts.maxLen}`);
  const metaFile = path.join(blockDir, 'meta.json');
  const meta = fs.existsSync(metaFile) ? JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { tokenizerSha256: string } : undefined;
  if (meta?.tokenizerSha256 !== hash) {
    const t0 = Date.now();
    const c = getCorpus();
    const train = packDocuments(tokenizeDocs(c.train, tokenizer), opts.maxLen, tokenizer.clsId, tokenizer.sepId);
    const heldOut = packDocuments(tokenizeDocs(c.heldOut, tokenizer), opts.maxLen, tokenizer.clsId, tokenizer.sepId);
    fs.mkdirSync(blockDir, { recursive: true });
    writeBlocks(path.join(blockDir, 'train.u16'), train);
    writeBlocks(path.join(blockDir, 'heldout.u16'), heldOut);
    fs.writeFileSync(metaFile, JSON.stringify({ tokenizerSha256: hash, maxLen: opts.maxLen, trainBlocks: train.count, heldOutBlocks: heldOut.count }, null, 2));
    log(`blocks: ${train.count} train and ${heldOut.count} held-out blocks of ${opts.maxLen} tokens, tokenised in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return { tokenizer, tokenizerFile, train, heldOut };
  }
  return {
    tokenizer, tokenizerFile,
    train: readBlocks(path.join(blockDir, 'train.u16'), opts.maxLen),
    heldOut: readBlocks(path.join(blockDir, 'heldout.u16'), opts.maxLen),
  };
}
