import Foundation

/// Where a model came from, stored in its file (format version 2) so a model found on a server
/// can be audited: which Trellis made it, from which data and settings, and how good it was on
/// dev. Nothing here depends on the clock, so the same seed and data still give the same bytes.
public struct Provenance: Codable, Equatable, Sendable {
  /// The `trellisVersion` of the build that trained the model.
  public var trellisVersion = Trellis.trellisVersion
  /// The git commit of that build (`trellisBuildCommit`); nil when it was not built from git.
  public var buildCommit = trellisBuildCommit
  /// Every setting of the run (data paths, architecture, training options, seed included) but
  /// its note, which is `note`.
  public var recipe: TrainingRecipe
  /// The data files read, in the order train, dev, test (read for `--embeddings`), embeddings.
  public var inputs: [InputFile]
  /// A free-text note from the user (`--note`), e.g. a date or a ticket.
  public var note: String?
  /// What training did; filled as it goes.
  public var training = TrainingRecord()

  /// A record of a run about to start; `training` is filled in as it goes. The recipe's note
  /// is kept once, as `note`, where model files have always kept it.
  public init(recipe: TrainingRecipe, inputs: [InputFile]) {
    self.recipe = recipe
    self.recipe.note = nil
    self.inputs = inputs
    note = recipe.note
  }

  /// The recipe as a `--config` file gives it (`trellis info --config`): the run's, its note
  /// back in it, without the scheme detected in the data, which training detects again (a
  /// file giving it is refused). `trellis train --config` with it and the same data files
  /// writes the same model file.
  public var configFile: TrainingRecipe {
    var recipe = self.recipe
    recipe.note = note
    recipe.configuration.forgetDetectedScheme()
    return recipe
  }
}

/// One data file as it was when training read it.
public struct InputFile: Codable, Equatable, Sendable {
  /// `train`, `dev`, `test` or `embeddings`.
  public var role: String
  /// The path as given.
  public var path: String
  /// The file's size in bytes.
  public var bytes: Int
  /// The SHA-256 of the file's bytes, 64 lowercase hexadecimal digits (as `sha256sum` prints).
  public var sha256: String
  /// The number of sentences, for CoNLL files; nil for embeddings.
  public var sentences: Int?
  /// The number of tokens, for CoNLL files; nil for embeddings.
  public var tokens: Int?

  /// Describes `path` from `digest`, the size and SHA-256 of the bytes training read from it,
  /// with the sentence and token counts of a CoNLL file when given.
  public init(role: String, path: String, digest: ReadDigest, sentences: [Sentence]? = nil) {
    self.role = role
    self.path = path
    bytes = digest.bytes
    sha256 = digest.sha256
    self.sentences = sentences?.count
    tokens = sentences?.reduce(0) { $0 + $1.count }
  }
}

/// The size and SHA-256 of the bytes a reader has handed on, computed as it reads them, so
/// that an `InputFile` describes the bytes training read, reading them once: a pipe or FIFO
/// can be read only once, and a file that changed between two reads would be described as it
/// was not read.
public struct ReadDigest: Sendable {
  /// The bytes read so far.
  public private(set) var bytes = 0
  private var hash = SHA256()

  /// The digest of no bytes yet.
  public init() {}

  mutating func update<Bytes: Collection>(_ chunk: Bytes) where Bytes.Element == UInt8 {
    bytes += chunk.count
    hash.update(chunk)
  }

  /// The SHA-256 of the bytes so far, 64 lowercase hexadecimal digits.
  public var sha256: String {
    var final = hash
    return final.hexDigest()
  }
}

/// The outcome of training, as of the epoch the model file holds.
public struct TrainingRecord: Codable, Equatable, Sendable {
  /// The epoch whose parameters the file holds (1-based).
  public var selectedEpoch = 0
  /// The number of epochs trained, counting those after `selectedEpoch` (early stopping).
  public var epochsRun = 0
  /// Dev scores of the selected epoch; nil without a dev set.
  public var dev: DevScores?
  /// Dev FB1 after each epoch, in order; empty without a dev set.
  public var devF1History: [Double] = []

  /// Nothing trained yet.
  public init() {}
}

/// conlleval's figures on the dev set.
public struct DevScores: Codable, Equatable, Sendable {
  /// Chunk FB1, in percent.
  public var f1: Double
  /// Chunk precision, in percent.
  public var precision: Double
  /// Chunk recall, in percent.
  public var recall: Double
  /// Token accuracy, in percent.
  public var accuracy: Double

  /// The figures of `counts`.
  public init(_ counts: ConllCounts) {
    (f1, precision, recall, accuracy) = (
      counts.f1, counts.precision, counts.recall, counts.accuracy
    )
  }
}
