export { TemplateError } from './template-error';
export {
  parseTemplate,
  scanTemplate,
  templateTokens,
  causalTemplateOf,
  causalStructureProblems,
  CAUSAL_MASK_HINT,
  type TemplateParseOptions,
  type TemplatePiece,
  type SentencePiece,
  type LiteralPiece,
  type SpecialPiece,
  type SentenceVariant,
  type TemplateToken,
} from './parse-template';
export { templateProblems, validateTemplate, modelTokenProblems, type TemplateCheckOptions } from './validate-template';
export {
  compilePrompt,
  prepareTemplate,
  encodeStandard,
  sentenceText,
  type PromptExample,
  type PromptOptions,
  type ModelKindOption,
  type CompiledPrompt,
  type EncodedInput,
  type PreparedTemplate,
} from './compile-prompt';
export { labelWordIds, labelWordId } from './label-words';
