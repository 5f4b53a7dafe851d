/**
 * ModernBERT's tokenizer (answerdotai/ModernBERT-base): OLMo's / GPT-NeoX's byte-level BPE (an NFC normalizer as in
 * GPT-NeoX's file, one test runs without it; ByteLevel pre-tokenizer with add_prefix_space false and use_regex true;
 * ByteLevel decoder) with BERT's special tokens added on top — [UNK] [CLS] [SEP] [PAD] [MASK], the mask stripping the
 * space on its left — a TemplateProcessing post-processor [CLS] $A [SEP], and GPT-NeoX's own added tokens kept:
 * <|padding|>, <|endoftext|>, |||IP_ADDRESS|||, runs of 2–24 spaces as single (normalized, non-special) tokens, and
 * [unused0]… after [MASK]. The real ids: [UNK] 50280, [CLS] 50281, [SEP] 50282, [PAD] 50283, [MASK] 50284; here the
 * same layout in a tiny vocabulary.
 *
 * Loaded through the masked-LM path (`loadTokenizer(dir, { causal: false })`, and the default, which must find the
 * mask token). Every expected id below is worked out by hand from the merge ranks of MERGES.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compilePrompt, encodeStandard } from '../../../../src/engine/template/compile-prompt';
import { labelWordIds } from '../../../../src/engine/template/label-words';
import { loadTokenizer, type LoadTokenizerOptions, type TextTokenizer } from '../../../../src/engine/tokenize';

/**
 * Byte-level symbols, ids 2–29 (printable ASCII is itself, the space byte is "Ġ", "é" = UTF-8 C3 A9 is "Ã" "©").
 * Ids 0 and 1 are GPT-NeoX's |||IP_ADDRESS||| and <|padding|>.
 */
const BYTES = [
  '.', 'I', 'T', 'a', 'b', 'c', 'd', 'e', 'f', 'g', //  2–11
  'h', 'i', 'l', 'm', 'n', 'o', 'r', 's', 't', 'v', //  12–21
  'w', 'y', 'Ġ', 'Ã', '©', '<', '>', '/', //            22–29
];

/** Merges in rank order; rank r makes the symbol with id 30 + r. */
const MERGES: [string, string][] = [
  ['Ġ', 'g'], ['r', 'e'], ['a', 't'], ['Ġg', 're'], ['Ġgre', 'at'], //   0–4:   30 Ġg 31 re 32 at 33 Ġgre 34 Ġgreat
  ['Ġ', 'm'], ['o', 'v'], ['i', 'e'], ['Ġm', 'ov'], ['Ġmov', 'ie'], //   5–9:   35 Ġm 36 ov 37 ie 38 Ġmov 39 Ġmovie
  ['Ġ', 'w'], ['a', 's'], ['Ġw', 'as'], ['Ġ', 'I'], ['ĠI', 't'], //      10–14: 40 Ġw 41 as 42 Ġwas 43 ĠI 44 ĠIt
  ['I', 't'], ['Ġ', '.'], ['Ġ', 'b'], ['a', 'd'], ['Ġb', 'ad'], //       15–19: 45 It 46 Ġ. 47 Ġb 48 ad 49 Ġbad
  ['Ã', '©'], ['c', 'a'], ['ca', 'f'], ['h', 'e'], ['Ġ', 'T'], //       20–24: 50 Ã© 51 ca 52 caf 53 he 54 ĠT
  ['ĠT', 'he'], ['Ġ', 'a'], ['Ġ', 's'], ['T', 'h'], ['Th', 'e'], //      25–29: 55 ĠThe 56 Ġa 57 Ġs 58 Th 59 The
];

// Added tokens after the merges, in ModernBERT's order (GPT-NeoX's space runs and <|endoftext|>, then BERT's five).
const SPACES3 = 60;
const SPACES2 = 61;
const ENDOFTEXT = 62;
const UNK = 63;
const CLS = 64;
const SEP = 65;
const PAD = 66;
const MASK = 67;
const UNUSED0 = 68;

type AddedToken = { id: number; content: string; single_word: boolean; lstrip: boolean; rstrip: boolean; normalized: boolean; special: boolean };
const added = (id: number, content: string, o: { special: boolean; normalized: boolean; lstrip?: boolean }): AddedToken => ({
  id, content, single_word: false, lstrip: o.lstrip ?? false, rstrip: false, normalized: o.normalized, special: o.special,
});

const ADDED: AddedToken[] = [
  added(0, '|||IP_ADDRESS|||', { special: false, normalized: true }),
  added(1, '<|padding|>', { special: true, normalized: false }),
  added(SPACES3, '   ', { special: false, normalized: true }),
  added(SPACES2, '  ', { special: false, normalized: true }),
  added(ENDOFTEXT, '<|endoftext|>', { special: true, normalized: false }),
  added(UNK, '[UNK]', { special: true, normalized: false }),
  added(CLS, '[CLS]', { special: true, normalized: false }),
  added(SEP, '[SEP]', { special: true, normalized: false }),
  added(PAD, '[PAD]', { special: true, normalized: false }),
  added(MASK, '[MASK]', { special: true, normalized: false, lstrip: true }),
  added(UNUSED0, '[unused0]', { special: false, normalized: true }),
];

/** The BPE model's vocabulary: GPT-NeoX's part (ids 0–62); BERT's tokens and [unused0] exist only as added tokens. */
function modelVocab(): Record<string, number> {
  const vocab: Record<string, number> = { '|||IP_ADDRESS|||': 0, '<|padding|>': 1 };
  BYTES.forEach((s, i) => { vocab[s] = 2 + i; });
  MERGES.forEach(([a, b], r) => { vocab[a + b] = 30 + r; });
  Object.assign(vocab, { '   ': SPACES3, '  ': SPACES2, '<|endoftext|>': ENDOFTEXT });
  return vocab;
}

const special = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });

/** tokenizer.json in ModernBERT's layout (normalizer: NFC as in GPT-NeoX/OLMo; `null` for the variant without). */
function modernBertJson(normalizer: object | null = { type: 'NFC' }): object {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ADDED,
    normalizer,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0), sequence('B', 1), special('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [CLS], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [SEP], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, vocab: modelVocab(), merges: MERGES.map(([a, b]) => `${a} ${b}`),
    },
  };
}

const addedTokensDecoder = Object.fromEntries(ADDED.map(({ id, ...rest }) => [String(id), rest]));

/** ModernBERT-base's tokenizer_config.json (its keys; added_tokens_decoder for this vocabulary). */
const TOKENIZER_CONFIG = {
  added_tokens_decoder: addedTokensDecoder,
  clean_up_tokenization_spaces: true,
  cls_token: '[CLS]',
  mask_token: '[MASK]',
  model_max_length: 1000000000000000019884624838656,
  pad_token: '[PAD]',
  sep_token: '[SEP]',
  tokenizer_class: 'PreTrainedTokenizerFast',
  model_input_names: ['input_ids', 'attention_mask'],
  unk_token: '[UNK]',
};

const mapEntry = (content: string, lstrip = false) => ({ content, lstrip, normalized: false, rstrip: false, single_word: false });
/** ModernBERT-base's special_tokens_map.json. */
const SPECIAL_TOKENS_MAP = {
  cls_token: mapEntry('[CLS]'), mask_token: mapEntry('[MASK]', true), pad_token: mapEntry('[PAD]'),
  sep_token: mapEntry('[SEP]'), unk_token: mapEntry('[UNK]'),
};

describe('tokenize: ModernBERT byte-level BPE tokenizer.json ([CLS] $A [SEP], [MASK] with lstrip, GPT-NeoX added tokens)', () => {
  const dirs: string[] = [];
  const write = (files: Record<string, object>): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-lens-modernbert-tok-'));
    dirs.push(dir);
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), JSON.stringify(content));
    return dir;
  };
  const load = (files: Record<string, object>, options: LoadTokenizerOptions = { causal: false }) => loadTokenizer(write(files), options);
  const fullFolder = (json: object = modernBertJson()) => ({
    'tokenizer.json': json, 'tokenizer_config.json': TOKENIZER_CONFIG, 'special_tokens_map.json': SPECIAL_TOKENS_MAP,
  });

  let tok: TextTokenizer;
  before(async () => { tok = await load(fullFolder()); });
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('loads through the masked-LM path as kind bpe: clsId/sepId/maskId/padId/unkId are [CLS] [SEP] [MASK] [PAD] [UNK]', () => {
    assert.equal(tok.kind, 'bpe');
    assert.equal(tok.causal, undefined);
    assert.equal(tok.bosId, undefined);
    assert.equal(tok.eosId, undefined);
    assert.deepEqual([tok.clsId, tok.sepId, tok.maskId, tok.padId, tok.unkId], [CLS, SEP, MASK, PAD, UNK]);
    assert.equal(tok.vocabSize, 69); // ids 0–68: added tokens outside the BPE model's vocabulary count too
    assert.equal(tok.tokenToId('[MASK]'), MASK);
    assert.equal(tok.idToToken(CLS), '[CLS]');
    assert.equal(tok.tokenToId('Ġgreat'), 34);
  });

  it('loads as a masked LM without { causal: false } too: the [MASK] special token makes it one (preflight\'s call)', async () => {
    const t = await load(fullFolder(), {});
    assert.equal(t.causal, undefined);
    assert.deepEqual([t.clsId, t.sepId, t.maskId, t.padId, t.unkId], [CLS, SEP, MASK, PAD, UNK]);
  });

  const cases: [string, number[], string][] = [
    ['a great movie', [5, 34, 39],
      'a | Ġ g r e a t → Ġg(r0) re(r1) at(r2) Ġgre(r3) Ġgreat(r4) | Ġ m o v i e → Ġm(r5) ov(r6) ie(r7) Ġmov(r8) Ġmovie(r9)'],
    ['It was bad', [45, 42, 49], 'I t → It(r15), no prefix space added | Ġw(r10) as(r11) Ġwas(r12) | Ġb(r17) ad(r18) Ġbad(r19)'],
    [' It', [44], 'Ġ I t: ĠI(r13) is ranked before It(r15), so ĠI then ĠIt(r14), not Ġ It'],
    ['great', [11, 31, 32], 'without Ġ: re(r1) at(r2), and no "g re" merge → g re at'],
    ['The', [4, 53], 'T h e: he(r23) is ranked before Th(r28), so T he, and "The" (59) is never reached'],
    [' The movie', [55, 39], 'Ġ T h e → he(r23) ĠT(r24) ĠThe(r25) | Ġmovie'],
    ['was a great', [22, 41, 56, 34], 'w as(r11) (no Ġ, so no Ġw) | Ġa(r26) | Ġgreat'],
  ];
  for (const [text, ids, why] of cases) {
    it(`encodes ${JSON.stringify(text)} by merge rank: ${why}`, () => {
      assert.deepEqual(tok.encode(text), ids);
      assert.deepEqual(tok.encodeContinuation(text), ids); // byte-level: no dummy prefix, so the same
    });
  }

  it('decodes bytes back to text', () => {
    assert.equal(tok.decode([5, 34, 39]), 'a great movie');
    assert.equal(tok.decode([52, 50]), 'café');
  });

  it('NFC-normalizes before the byte mapping: "cafe\\u0301" → café → c a f Ã © → Ã©(r20) ca(r21) caf(r22)', () => {
    assert.deepEqual(tok.encode('cafe\u0301'), [52, 50]);
    assert.deepEqual(tok.encode('café'), [52, 50]);
  });

  it('label words are the Ġ tokens of " word": great → Ġgreat 34, bad → Ġbad 49; a two-token word is refused', () => {
    assert.deepEqual(tok.encodeContinuation(' great'), [34]);
    assert.deepEqual(labelWordIds(tok, ['bad', 'great']), [49, 34]);
    // " movies" → Ġmovie(r9) s: two tokens
    assert.throws(() => labelWordIds(tok, ['movies', 'great']), /"movies" is 2 tokens for this tokenizer \(" movies" → Ġmovie \| s\)/);
  });

  it('"[MASK]" in text is the mask id, and it takes the spaces on its left (lstrip), as HF does', () => {
    // "It was" | [MASK] | " ." → It(r15) Ġwas(r12) [MASK] Ġ.(r16)
    assert.deepEqual(tok.encode('It was [MASK] .'), [45, 42, MASK, 46]);
    assert.deepEqual(tok.encode('It was[MASK].'), [45, 42, MASK, 2]);
    // both spaces go to [MASK] (it is matched before the normalized "  " token): no 61 for them
    assert.deepEqual(tok.encode('It was  [MASK]'), [45, 42, MASK]);
    // no rstrip: the space after [MASK] stays with the next word
    assert.deepEqual(tok.encode('[MASK] great'), [MASK, 34]);
    // contrast: [unused0] has no lstrip, so the space before it is a token of its own (Ġ 24)
    assert.deepEqual(tok.encode('It was [unused0]'), [45, 42, 24, UNUSED0]);
    // the other special tokens in text are their ids too
    assert.deepEqual(tok.encode('[CLS]a[SEP][PAD][UNK]<|endoftext|>'), [CLS, 5, SEP, PAD, UNK, ENDOFTEXT]);
  });

  it('runs of spaces are GPT-NeoX\'s added space tokens (longest first); the word after them has no Ġ', () => {
    // as HF's ModernBERT tokenizer: "use     multiple" → Ġuse, "     ", multiple
    assert.deepEqual(tok.encode('a  great'), [5, SPACES2, 11, 31, 32]);
    assert.deepEqual(tok.encode('a   great'), [5, SPACES3, 11, 31, 32]);
    assert.deepEqual(tok.encode('a    great'), [5, SPACES3, 34]); // "   " then " great"
  });

  it('compiles an LM-BFF prompt: [CLS] a Ġgreat Ġmovie ĠIt Ġwas [MASK] . [SEP], type ids all 0', () => {
    const p = compilePrompt('*cls**sent_0*_It_was*mask*.*sep+*', tok, { textA: 'a great movie' }, { maxLength: 32 });
    assert.deepEqual(p.inputIds, [CLS, 5, 34, 39, 44, 42, MASK, 2, SEP]);
    assert.deepEqual(p.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(p.maskPos, 6);
  });

  it('encodes the standard input as [CLS] A [SEP] B [SEP] (the post-processor\'s template), type ids all 0', () => {
    const e = encodeStandard(tok, { textA: 'a great movie', textB: 'It was bad' }, 32);
    assert.deepEqual(e.inputIds, [CLS, 5, 34, 39, SEP, 45, 42, 49, SEP]);
    assert.deepEqual(e.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('gives the same ids for ASCII text without the NFC normalizer', async () => {
    const t = await load(fullFolder(modernBertJson(null)));
    for (const text of ['a great movie', 'It was [MASK] .', 'It was  [MASK]', 'a  great', 'It was [unused0]']) {
      assert.deepEqual(t.encode(text), tok.encode(text), text);
    }
  });

  it('takes the special tokens from special_tokens_map.json alone (AddedToken objects), or finds them without any config', async () => {
    const mapOnly = await load({ 'tokenizer.json': modernBertJson(), 'special_tokens_map.json': SPECIAL_TOKENS_MAP });
    assert.deepEqual([mapOnly.clsId, mapOnly.sepId, mapOnly.maskId, mapOnly.padId, mapOnly.unkId], [CLS, SEP, MASK, PAD, UNK]);
    // tokenizer.json only: found by their BERT spellings (a byte-level vocabulary trained with the GPT-2 regex never
    // merges letters with "<" ">", so RoBERTa's "<s>" "</s>" … are not in it to be mistaken for them)
    for (const options of [{ causal: false }, {}]) {
      const bare = await load({ 'tokenizer.json': modernBertJson() }, options);
      assert.equal(bare.causal, undefined);
      assert.deepEqual(bare.encode('<s>'), [27, 19, 28]); // < | s | >: three pre-tokens
      assert.deepEqual([bare.clsId, bare.sepId, bare.maskId, bare.padId, bare.unkId], [CLS, SEP, MASK, PAD, UNK]);
    }
  });
});
