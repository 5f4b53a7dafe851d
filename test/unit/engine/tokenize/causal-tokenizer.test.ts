import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isCausalTokenizer, loadTokenizer, type TextTokenizer } from '../../../../src/engine/tokenize';
import {
  GPT2_EOT, GPT2_MERGES, LLAMA2_CONFIG, LLAMA3_BOS, LLAMA3_CONFIG, LLAMA3_DOGS, LLAMA3_EOS,
  gpt2TokenizerJson, gpt2Vocab, llama3TokenizerJson, sentencePieceTokenizerJson,
  writeGpt2Dir, writeLlama2Dir, writeLlama3Dir, writeMistralDir, writeTokenizerDir,
} from './causal-vocabs';
import { tempDir, writeBpeDir } from './tiny-vocabs';

// Ids refer to the tables of causal-vocabs.ts. Byte-level symbols: . 0  ' 4  I 5  T 6  M 7  a 8  b 9  c 10  d 11
// e 12  f 13  g 14  h 15  i 16  l 17  m 18  o 19  r 20  s 21  t 22  w 23  Ġ 24  Ã 25  © 26  1 27 … 5 31  A 32;
// merged symbols 40 + merge rank.

describe('loadTokenizer: GPT-2 byte-level BPE (tokenizer.json; also Pythia, SmolLM, Qwen2)', () => {
  let tok: TextTokenizer;
  before(async () => { tok = await loadTokenizer(writeGpt2Dir()); });

  it('loads as a causal tokenizer: no mask token, <|endoftext|> is BOS, EOS and (no pad token) pad; no BOS added', () => {
    assert.equal(tok.kind, 'bpe');
    assert.ok(isCausalTokenizer(tok));
    assert.deepEqual(tok.causal, { addsBos: false, addsEos: false, unkId: undefined, padFrom: 'eos' });
    assert.deepEqual([tok.bosId, tok.eosId, tok.padId], [GPT2_EOT, GPT2_EOT, GPT2_EOT]);
    assert.equal(tok.vocabSize, 62);
  });

  it('throws, naming the reason, on reading clsId, sepId, maskId (and unkId without an unknown token)', () => {
    for (const read of [() => tok.clsId, () => tok.sepId, () => tok.maskId, () => tok.unkId]) {
      assert.throws(read, /a causal-LM tokenizer has no (CLS|SEP|mask|unknown) token .*causal: true/);
    }
  });

  const cases: [string, number[], string][] = [
    // GPT-2 regex: "The" | " film" | " was" | " great" | "."
    ['The film was great.', [52, 56, 44, 51, 0],
      'T h e → he(r1) → The(r12); Ġ f i l m → Ġf(r13) il(r14) Ġfil(r15) Ġfilm(r16); Ġ w a s → Ġw(r2) as(r3) Ġwas(r4); ' +
      'Ġ g r e a t → Ġg(r7) re(r8) at(r9) Ġgre(r10) Ġgreat(r11); .'],
    [' It was bad', [46, 44, 60], 'a space becomes Ġ: ĠI(r5) ĠIt(r6) | Ġwas | Ġb(r18) ad(r19) Ġbad(r20)'],
    ['It', [5, 22], 'no prefix space is added: I t (only "Ġ I" merges)'],
    ['café', [10, 8, 13, 57], 'é is the bytes C3 A9 = Ã ©, merged by r17 into Ã©'],
    ['12345', [27, 28, 29, 30, 31], 'GPT-2 keeps a digit run in one pre-token (no digit merges here)'],
    ['<|endoftext|>The', [GPT2_EOT, 52], 'the special token in text is its id'],
  ];
  for (const [text, ids, why] of cases) {
    it(`encodes ${JSON.stringify(text)}: ${why}`, () => {
      assert.deepEqual(tok.encode(text), ids);
      assert.deepEqual(tok.encodeContinuation(text), ids); // byte-level: no dummy prefix, so the same
    });
  }

  it('decodes bytes back to text', () => {
    assert.equal(tok.decode([52, 56, 44, 51, 0]), 'The film was great.');
    assert.equal(tok.decode([10, 8, 13, 57]), 'café');
  });

  it('reads vocab.json + merges.txt without a mask token as GPT-2 (same ids as tokenizer.json)', async () => {
    const dir = tempDir('gpt2-files');
    fs.writeFileSync(path.join(dir, 'vocab.json'), JSON.stringify(gpt2Vocab()));
    fs.writeFileSync(path.join(dir, 'merges.txt'), '#version: 0.2\n' + GPT2_MERGES.map(([a, b]) => `${a} ${b}`).join('\n') + '\n');
    const files = await loadTokenizer(dir);
    assert.ok(files.causal);
    assert.deepEqual([files.bosId, files.eosId, files.padId], [GPT2_EOT, GPT2_EOT, GPT2_EOT]);
    for (const [text, ids] of cases) assert.deepEqual(files.encode(text), ids, text);
  });

  it('Pythia: tokenizer_config names bos/eos/unk <|endoftext|> and no pad token → pad = EOS (not <|padding|>)', async () => {
    const json = gpt2TokenizerJson() as { added_tokens: object[]; model: { vocab: Record<string, number> } };
    json.model.vocab['<|padding|>'] = 62;
    json.added_tokens.push({ id: 62, content: '<|padding|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
    const t = await loadTokenizer(writeTokenizerDir(json, { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', add_prefix_space: false }));
    assert.deepEqual([t.bosId, t.eosId, t.padId, t.causal!.unkId, t.causal!.padFrom], [GPT2_EOT, GPT2_EOT, GPT2_EOT, GPT2_EOT, 'eos']);
    assert.equal(t.unkId, GPT2_EOT);
  });

  it('Qwen2: bos_token null means no BOS; a named pad token is the pad', async () => {
    const t = await loadTokenizer(writeGpt2Dir({ bos_token: null, eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', unk_token: null }));
    assert.equal(t.bosId, undefined);
    assert.deepEqual([t.eosId, t.padId, t.causal!.padFrom, t.causal!.addsBos], [GPT2_EOT, GPT2_EOT, 'pad', false]);
  });

  it('"<mask>" as an ordinary vocabulary string (not a special token) does not make it a masked LM\'s', async () => {
    const json = gpt2TokenizerJson() as { model: { vocab: Record<string, number> } };
    json.model.vocab['<mask>'] = 62;
    const t = await loadTokenizer(writeTokenizerDir(json));
    assert.ok(t.causal);
    assert.equal(t.tokenToId('<mask>'), 62);
  });

  it('a masked LM is still told apart: {causal: false} on GPT-2 gives the old "no mask token" error; RoBERTa loads as before', async () => {
    await assert.rejects(loadTokenizer(writeGpt2Dir(), { causal: false }), /the vocabulary has no cls token|the vocabulary has no mask token/);
    const roberta = await loadTokenizer(writeBpeDir());
    assert.equal(roberta.causal, undefined);
    assert.equal(roberta.bosId, undefined);
    assert.deepEqual(roberta.encodeContinuation(' great'), roberta.encode(' great'));
  });
});

describe('loadTokenizer: Llama 3 (Split regex + ByteLevel, ignore_merges, BOS from the post-processor)', () => {
  let tok: TextTokenizer;
  before(async () => { tok = await loadTokenizer(writeLlama3Dir()); });

  it('finds BOS <|begin_of_text|> (added by the post-processor: no add_bos_token key), EOS <|end_of_text|>, pad = EOS', () => {
    assert.equal(tok.kind, 'bpe');
    assert.deepEqual(tok.causal, { addsBos: true, addsEos: false, unkId: undefined, padFrom: 'eos' });
    assert.deepEqual([tok.bosId, tok.eosId, tok.padId], [LLAMA3_BOS, LLAMA3_EOS, LLAMA3_EOS]);
  });

  it('splits digits into groups of up to three: "I\'m 12345 cats"', () => {
    // Split: "I" | "'m" | " " | "123" | "45" | " cats"
    // I 5 | ' m → 'm(r0) 40 | Ġ 24 | 123: a vocabulary entry, taken whole (ignore_merges) 44 | 45 (r5) 45 |
    // Ġ c a t s → Ġc(r6) at(r7) Ġcat(r8) s → 48 21
    assert.deepEqual(tok.encode("I'm 12345 cats"), [5, 40, 24, 44, 45, 48, 21]);
  });

  it('the same vocabulary with GPT-2\'s regex keeps "12345" whole and merges it differently', async () => {
    const gpt2Style = await loadTokenizer(writeTokenizerDir(llama3TokenizerJson({ gpt2Regex: true }), LLAMA3_CONFIG));
    // 1 2 3 4 5 → 12(r2) → 34(r3) → 12 34 5 (no "12 34" merge): 42 43 31
    assert.deepEqual(gpt2Style.encode('12345'), [42, 43, 31]);
    assert.deepEqual(tok.encode('12345'), [44, 45]);
  });

  it('splits off contractions case-insensitively: "I\'ma" → I \'m a, "I\'MA" → I \'M A', () => {
    assert.deepEqual(tok.encode("I'ma"), [5, 40, 8]); // the contraction alternative takes "'m", not "'ma"
    assert.deepEqual(tok.encode("I'MA"), [5, 41, 32]); // (?i:…) also matches "'M"
  });

  it('takes a pre-token that is a vocabulary entry whole (ignore_merges): " dogs" → Ġdogs', async () => {
    assert.deepEqual(tok.encode(' dogs'), [LLAMA3_DOGS]);
    const withMerges = await loadTokenizer(writeTokenizerDir(llama3TokenizerJson({ ignoreMerges: false }), LLAMA3_CONFIG));
    assert.deepEqual(withMerges.encode(' dogs'), [24, 11, 19, 14, 21]); // no merge leads to Ġdogs: Ġ d o g s
  });

  it('encodes a sentence and the LM-BFF words: "The film was great. It was"', () => {
    // The(r18 he, r19) | Ġfilm(r20–r23) | Ġwas(r11–r13) | Ġgreat(r14–r17) | . | ĠIt(r9, r10) | Ġwas
    assert.deepEqual(tok.encode('The film was great. It was'), [59, 63, 53, 57, 0, 50, 53]);
    assert.deepEqual(tok.encode('<|begin_of_text|>The'), [LLAMA3_BOS, 59]);
  });
});

describe('loadTokenizer: SentencePiece-style BPE (Llama 2 legacy normalizer; Mistral/TinyLlama Metaspace)', () => {
  // <unk> 0, <s> 1, </s> 2, <0xNN> 3 + NN, ▁ 259 … merged 300 + rank (causal-vocabs.ts).
  let llama2: TextTokenizer;
  let mistral: TextTokenizer;
  before(async () => {
    llama2 = await loadTokenizer(writeLlama2Dir());
    mistral = await loadTokenizer(writeMistralDir());
  });

  it('Llama 2: kind sentencepiece, <s> added (add_bos_token), EOS </s>, pad_token null → pad = EOS, <unk>', () => {
    assert.equal(llama2.kind, 'sentencepiece');
    assert.deepEqual(llama2.causal, { addsBos: true, addsEos: false, unkId: 0, padFrom: 'eos' });
    assert.deepEqual([llama2.bosId, llama2.eosId, llama2.padId, llama2.unkId], [1, 2, 2, 0]);
    assert.equal(llama2.vocabSize, 324);
  });

  it('Mistral style: the token names come from special_tokens_map.json', () => {
    assert.equal(mistral.kind, 'sentencepiece');
    assert.deepEqual(mistral.causal, { addsBos: true, addsEos: false, unkId: 0, padFrom: 'eos' });
    assert.deepEqual([mistral.bosId, mistral.eosId, mistral.padId], [1, 2, 2]);
  });

  it('prefixes "▁" and marks spaces: "The movie was great." → ▁The ▁movie ▁was ▁great .', () => {
    // "▁The▁movie▁was▁great." as one word: ▁T(r0) he(r1) ▁The(r2); ▁m(r3) ov(r4) ▁mov(r5) ie(r6) ▁movie(r7);
    // ▁w(r8) as(r9) ▁was(r10); ▁g(r11) re(r12) at(r13) ▁gre(r14) ▁great(r15); . 273
    for (const t of [llama2, mistral]) assert.deepEqual(t.encode('The movie was great.'), [302, 307, 310, 315, 273]);
  });

  it('falls back to UTF-8 bytes for a character outside the vocabulary: "café" → ▁caf <0xC3> <0xA9>', () => {
    // ▁ c a f é → ca(r18) ▁ca(r19) ▁caf(r20); é is not a symbol → its bytes C3 A9 → ids 3 + 0xC3 = 198, 3 + 0xA9 = 172
    for (const t of [llama2, mistral]) {
      assert.deepEqual(t.encode('café'), [320, 198, 172]);
      assert.equal(t.decode([320, 198, 172]), 'café');
    }
  });

  it('encodeContinuation leaves the dummy prefix out: " It was" → ▁It ▁was, "great" → g re at', () => {
    for (const t of [llama2, mistral]) {
      assert.deepEqual(t.encodeContinuation(' It was'), [317, 310]); // ▁I(r16) ▁It(r17) | ▁was
      assert.deepEqual(t.encodeContinuation('great'), [270, 312, 313]); // g | re(r12) | at(r13)
      assert.deepEqual(t.encodeContinuation(' great'), [315]);
    }
    // encode (HF's add_special_tokens=False) differs on a leading space: Llama 2's Prepend normalizer gives a second
    // "▁" (▁▁It…: no "▁ ▁" merge → ▁ 259, then ▁It ▁was); Metaspace adds none to text that starts with "▁".
    assert.deepEqual(llama2.encode(' It was'), [259, 317, 310]);
    assert.deepEqual(mistral.encode(' It was'), [317, 310]);
  });

  it('encodes "<s>" in text as BOS', () => {
    assert.deepEqual(llama2.encode('<s>The'), [1, 302]);
    assert.deepEqual(mistral.encode('<s>The'), [1, 260, 301]); // prepend_scheme "first": only the first section gets "▁"
  });

  it('tokenizer_config add_bos_token: false wins over the post-processor', async () => {
    const t = await loadTokenizer(writeTokenizerDir(sentencePieceTokenizerJson('legacy'), { ...LLAMA2_CONFIG, add_bos_token: false }));
    assert.equal(t.causal!.addsBos, false);
    assert.equal(t.bosId, 1);
  });

  it('reads an old Metaspace with add_prefix_space instead of prepend_scheme as the Rust library does', async () => {
    const json = sentencePieceTokenizerJson('metaspace') as { pre_tokenizer: Record<string, unknown> };
    json.pre_tokenizer = { type: 'Metaspace', replacement: '▁', add_prefix_space: true };
    assert.deepEqual((await loadTokenizer(writeTokenizerDir(json, LLAMA2_CONFIG))).encode('The movie'), [302, 307]);
    // add_prefix_space: false = prepend_scheme "never" (tokenizers.js alone would read it as "always"): T he ▁movie
    json.pre_tokenizer = { type: 'Metaspace', replacement: '▁', add_prefix_space: false };
    assert.deepEqual((await loadTokenizer(writeTokenizerDir(json, LLAMA2_CONFIG))).encode('The movie'), [260, 301, 307]);
  });
});
