/**
 * Tiny tokenizer files for the tokenizer and template tests, written to a temporary folder by the tests.
 * Every id below is fixed by hand; the tests' expected ids are worked out from these tables.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** BERT WordPiece vocab.txt: line i is token id i. */
export const WORDPIECE_VOCAB: string[] = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', //   0–4
  '.', ',', '?', ':', '!', "'", //                   5–10
  'it', 'was', 'great', 'terrible', 'a', //          11–15
  'fun', 'film', 'this', 'is', 'the', //             16–20
  'article', '##s', 'who', 'won', 'he', //           21–25
  'she', 'play', '##ed', '##ing', 'no', //           26–30
  'yes', 'maybe', 'about', 'news', 'un', //          31–35
  '##believ', '##able', 'cafe', 'description', 'entity', // 36–40
  'expression', 'human', 'location', 'number', 'world', // 41–45
  'sports', 'business', 'tech', 'good', 'bad', //    46–50
  'okay', 'correct', '##x', 'f', '##i', //           51–55
  '##l', '##m', '##u', '##n', 'Great', //            56–60
];

/**
 * Byte-level BPE (RoBERTa layout). Byte symbols: printable ASCII is itself, the space byte is "Ġ", and the two
 * bytes of "é" (C3 A9) are "Ã" and "©". Merged symbols get ids 40 + rank.
 */
export const BPE_BASE: Record<string, number> = {
  '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3,
  '.': 4, ',': 5, '?': 6, ':': 7, '!': 8,
  A: 9, H: 10, I: 11, M: 12, N: 13, T: 14, W: 15, Y: 16,
  a: 17, b: 18, c: 19, d: 20, e: 21, f: 22, g: 23, h: 24, i: 25, l: 26, m: 27, n: 28, o: 29, p: 30,
  r: 31, s: 32, t: 33, u: 34, w: 35, y: 36,
  'Ġ': 37, 'Ã': 38, '©': 39,
};

/** Merges in rank order (rank r creates the symbol with id 40 + r). */
export const BPE_MERGES: [string, string][] = [
  ['Ġ', 't'], ['h', 'e'], ['Ġ', 'w'], ['a', 's'], ['Ġw', 'as'], //               0–4:   40 Ġt 41 he 42 Ġw 43 as 44 Ġwas
  ['Ġ', 'f'], ['i', 'l'], ['Ġf', 'il'], ['Ġfil', 'm'], ['Ġ', 'I'], //            5–9:   45 Ġf 46 il 47 Ġfil 48 Ġfilm 49 ĠI
  ['ĠI', 't'], ['o', 'n'], ['Ġw', 'on'], ['H', 'e'], ['Ġ', 'he'], //             10–14: 50 ĠIt 51 on 52 Ġwon 53 He 54 Ġhe
  ['e', 'd'], ['Ġ', 'p'], ['Ġp', 'l'], ['a', 'y'], ['Ġpl', 'ay'], //             15–19: 55 ed 56 Ġp 57 Ġpl 58 ay 59 Ġplay
  ['Ġplay', 'ed'], ['Ġ', 'T'], ['h', 'i'], ['ĠT', 'hi'], ['ĠThi', 's'], //       20–24: 60 Ġplayed 61 ĠT 62 hi 63 ĠThi 64 ĠThis
  ['Ġ', 'i'], ['Ġi', 's'], ['Ġ', 'n'], ['e', 'w'], ['Ġn', 'ew'], //              25–29: 65 Ġi 66 Ġis 67 Ġn 68 ew 69 Ġnew
  ['Ġnew', 's'], ['Ġ', 'g'], ['r', 'e'], ['a', 't'], ['Ġg', 're'], //            30–34: 70 Ġnews 71 Ġg 72 re 73 at 74 Ġgre
  ['Ġgre', 'at'], ['Ġt', 'e'], ['r', 'r'], ['Ġte', 'rr'], ['i', 'b'], //         35–39: 75 Ġgreat 76 Ġte 77 rr 78 Ġterr 79 ib
  ['l', 'e'], ['ib', 'le'], ['Ġterr', 'ible'], ['Ġ', 'Y'], ['ĠY', 'e'], //       40–44: 80 le 81 ible 82 Ġterrible 83 ĠY 84 ĠYe
  ['ĠYe', 's'], ['Ġ', 'N'], ['ĠN', 'o'], ['Ġ', 'M'], ['ĠM', 'ay'], //            45–49: 85 ĠYes 86 ĠN 87 ĠNo 88 ĠM 89 ĠMay
  ['ĠMay', 'b'], ['ĠMayb', 'e'], ['Ġ', 'a'], ['Ġa', 'b'], ['o', 'u'], //         50–54: 90 ĠMayb 91 ĠMaybe 92 Ġa 93 Ġab 94 ou
  ['Ġab', 'ou'], ['Ġabou', 't'], ['Ġ', 's'], ['Ġs', 'he'], ['W', 'h'], //        55–59: 95 Ġabou 96 Ġabout 97 Ġs 98 Ġshe 99 Wh
  ['Ġ', 'W'], ['ĠW', 'h'], ['ĠWh', 'o'], ['Ã', '©'], //                          60–63: 100 ĠW 101 ĠWh 102 ĠWho 103 Ã©
];

/** The full vocab.json: base symbols, merged symbols (40 + rank), then <mask> = 104. */
export function bpeVocab(): Record<string, number> {
  const vocab: Record<string, number> = { ...BPE_BASE };
  BPE_MERGES.forEach(([a, b], rank) => { vocab[a + b] = 40 + rank; });
  vocab['<mask>'] = 104;
  return vocab;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ntk-lens-${prefix}-`));
}

/** A folder with vocab.txt (+ tokenizer_config.json when `config` is given). */
export function writeWordPieceDir(vocab: string[] = WORDPIECE_VOCAB, config?: object): string {
  const dir = tempDir('wordpiece');
  fs.writeFileSync(path.join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
  if (config) fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

/** A folder with vocab.json + merges.txt (with the usual "#version" header line). */
export function writeBpeDir(): string {
  const dir = tempDir('bpe');
  fs.writeFileSync(path.join(dir, 'vocab.json'), JSON.stringify(bpeVocab()));
  fs.writeFileSync(path.join(dir, 'merges.txt'), '#version: 0.2\n' + BPE_MERGES.map(([a, b]) => `${a} ${b}`).join('\n') + '\n');
  return dir;
}

/**
 * A folder with a tokenizer.json shaped like roberta-base's own (BPE model with unk_token null, ByteLevel
 * pre-tokenizer and decoder, RobertaProcessing, <mask> with lstrip), merges as "a b" strings or as pairs.
 */
export function writeRobertaTokenizerJsonDir(mergeFormat: 'strings' | 'pairs' = 'strings'): string {
  const dir = tempDir('tokenizer-json');
  const vocab = bpeVocab();
  const added = (content: string, id: number, lstrip = false) => ({
    id, content, single_word: false, lstrip, rstrip: false, normalized: content === '<mask>', special: true,
  });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added('<s>', 0), added('<pad>', 1), added('</s>', 2), added('<unk>', 3), added('<mask>', 104, true)],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false,
      vocab,
      merges: mergeFormat === 'strings' ? BPE_MERGES.map(([a, b]) => `${a} ${b}`) : BPE_MERGES,
    },
  };
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 512 }));
  return dir;
}
