// `import Trellis` is enough for a pipeline: chunk extraction (`chunks(in:)`), conlleval scoring
// (`ConllCounts`) and tag schemes come from ConllEval, which has no BLAS dependency of its own.
@_exported import ConllEval
