/**
 * Sequence packing (RoBERTa's FULL-SENTENCES input format, with BERT's special tokens): the documents' token ids are
 * concatenated into one stream with [SEP] after every document, and the stream is cut into blocks of `maxLen`
 * tokens, each starting with [CLS] followed by the next `maxLen − 1` stream tokens. No block needs padding (the
 * attention mask is all ones); the tail that does not fill a block is dropped. A block may start or end inside a
 * document, and may span several documents.
 */

export interface PackedBlocks {
  /** [N·maxLen] row-major. */
  tokens: Int32Array;
  maxLen: number;
  count: number;
}

export function packDocuments(docs: Iterable<ArrayLike<number>>, maxLen: number, clsId: number, sepId: number): PackedBlocks {
  if (!Number.isInteger(maxLen) || maxLen < 2) throw new Error(`packing.ts: maxLen must be an integer ≥ 2 (got ${maxLen})`);
  const body = maxLen - 1;
  const chunks: Int32Array[] = [];
  let current = new Int32Array(maxLen);
  let fill = 0; // body tokens in the current block
  const push = (id: number): void => {
    if (fill === 0) current[0] = clsId;
    current[1 + fill++] = id;
    if (fill === body) {
      chunks.push(current);
      current = new Int32Array(maxLen);
      fill = 0;
    }
  };
  for (const doc of docs) {
    for (let i = 0; i < doc.length; i++) push(doc[i]);
    push(sepId);
  }
  const tokens = new Int32Array(chunks.length * maxLen);
  chunks.forEach((c, i) => tokens.set(c, i * maxLen));
  return { tokens, maxLen, count: chunks.length };
}

/** Block `i` of `packed`, [maxLen] (a view, not a copy). */
export function block(packed: PackedBlocks, i: number): Int32Array {
  return packed.tokens.subarray(i * packed.maxLen, (i + 1) * packed.maxLen);
}
