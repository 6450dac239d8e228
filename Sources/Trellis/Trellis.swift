// `import Trellis` is enough for a pipeline: chunk extraction (`chunks(in:)`), conlleval scoring
// (`ConllCounts`) and tag schemes come from ConllEval, which has no BLAS dependency of its own.
@_exported import ConllEval

/// This library's version (semantic versioning; CHANGELOG.md lists what each one changed).
public let trellisVersion = "0.7.1"

/// The git commit this build comes from ("…-modified" with uncommitted changes), or nil when
/// it was not built from a git checkout.
public var trellisBuildCommit: String? { buildCommit }

/// `trellisVersion`, followed by `trellisBuildCommit` in parentheses when there is one: what
/// `trellis --version` and `trellis-serve --version` print.
public let trellisVersionDescription =
  trellisVersion + (trellisBuildCommit.map { " (\($0))" } ?? "")
