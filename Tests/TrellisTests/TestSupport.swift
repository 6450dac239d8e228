import XCTest

@testable import Trellis

/// A `(rows, columns)` matrix of seeded uniform values in [-scale, scale).
func randomMatrix(rows: Int, columns: Int, scale: Float = 1, rng: inout SplitMix64) -> [Float] {
  (0..<rows * columns).map { _ in (2 * rng.nextUnitFloat() - 1) * scale }
}

/// Every label sequence of length `T` over `L` labels (L^T of them), for brute-force oracles.
func allPaths(length T: Int, labels L: Int) -> [[Int]] {
  var paths: [[Int]] = [[]]
  for _ in 0..<T { paths = paths.flatMap { path in (0..<L).map { path + [$0] } } }
  return paths
}

/// The path score written out independently of `LinearChain` (the oracle must not share code).
func bruteScore(_ path: [Int], emissions: [Float], transitions θ: [Float], labels L: Int) -> Double
{
  var total = Double(θ[L * L + path[0]]) + Double(θ[L * L + L + path[path.count - 1]])
  for (t, label) in path.enumerated() {
    total += Double(emissions[t * L + label])
    if t > 0 { total += Double(θ[path[t - 1] * L + label]) }
  }
  return total
}

/// Asserts `|a − b| ≤ absolute + relative · max(|a|, |b|)` element by element and reports the
/// worst pair with `label` (llm.c's `check_tensor`). Equal values pass (infinities too); a NaN
/// on either side fails, where the comparison alone let it pass: a check whose both sides went
/// NaN compared nothing.
func assertClose(
  _ actual: [Double], _ expected: [Double], absolute: Double, relative: Double, _ label: String,
  file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(actual.count, expected.count, "\(label): sizes", file: file, line: line)
  var worst = 0.0
  var worstIndex = -1
  for (i, (a, b)) in zip(actual, expected).enumerated() where a != b {
    let difference = abs(a - b) - (absolute + relative * max(abs(a), abs(b)))
    let excess = difference.isNaN ? Double.infinity : difference
    if excess > worst || worstIndex < 0 && excess > 0 {
      worst = excess
      worstIndex = i
    }
  }
  if worstIndex >= 0 {
    XCTFail(
      "\(label): element \(worstIndex): \(actual[worstIndex]) vs \(expected[worstIndex])",
      file: file, line: line)
  }
}

/// The run `Trainer.train` would start from on `train` with `options`: a BiLSTM-CRF with
/// embeddings and hidden states 4 wide, no character features, seeded weights.
func smallRun(on train: [Sentence], options: TrainingOptions = TrainingOptions()) -> TrainingRun {
  var configuration = TaggerConfiguration()
  configuration.embeddingSize = 4
  configuration.hiddenSize = 4
  configuration.characterFilters = 0
  // Test models of a few KB: the system does not refuse them.
  return try! Trainer(configuration: configuration, options: options).fresh(train: train)
}

/// Model-file `data` with its JSON header changed by `edit` and its checksum made right again:
/// a file that lies with a valid checksum.
func withRewrittenHeader(_ data: Data, _ edit: (inout [String: Any]) -> Void) throws -> Data {
  let bytes = [UInt8](data)
  let length = Int(readLittleEndian(bytes, at: 12))
  var header = try XCTUnwrap(
    JSONSerialization.jsonObject(with: Data(bytes[16..<(16 + length)])) as? [String: Any])
  edit(&header)
  let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
  var result = Data(bytes[0..<12])
  appendLittleEndian(UInt32(json.count), to: &result)
  result.append(json)
  result.append(Data(bytes[(16 + length)..<(bytes.count - 4)]))
  appendLittleEndian(crc32(result), to: &result)
  return result
}

/// A model with a tiny configuration and seeded weights, including random head parameters so
/// transition gradients are exercised away from zero.
func makeModel(
  encoder: EncoderKind = .bilstm, head: HeadKind = .crf, window: Int = 0, words: Int = 6,
  labels: [String] = ["O", "B-a", "I-a"], embeddingSize: Int = 3, hiddenSize: Int = 2,
  seed: UInt64 = 7,
  characterFilters: Int = 0, featureColumns: [FeatureColumn] = [], layers: Int = 1,
  scheme: TagScheme = .bio
) -> TaggerModel {
  var configuration = TaggerConfiguration()
  configuration.scheme = scheme
  configuration.encoder = encoder
  configuration.head = head
  configuration.window = window
  configuration.embeddingSize = embeddingSize
  configuration.hiddenSize = hiddenSize
  configuration.layers = layers
  configuration.constrainedDecoding = false
  configuration.characterFilters = characterFilters
  configuration.featureColumns = featureColumns
  configuration.characterEmbeddingSize = 2
  let vocabulary = Vocabulary(["<pad>", "<unk>"] + (2..<words).map { "w\($0)" })
  let characters = Vocabulary(["<pad>", "<unk>", "w", "2", "3", "4"])
  var rng = SplitMix64(seed: seed)
  let model = try! TaggerModel(
    configuration: configuration, words: vocabulary, labels: Vocabulary(labels),
    characters: characters,
    featureVocabularies: featureColumns.map { _ in Vocabulary(["<pad>", "<unk>", "x", "y"]) },
    rng: &rng)
  var headRng = SplitMix64(seed: seed &+ 1)
  for k in 0..<model.headSlot.count {
    model.store.value(model.headSlot)[k] = (2 * headRng.nextUnitFloat() - 1)
  }
  return model
}

/// A head's loss and gradients for `sentences` (each its emissions, `(T, L)`, and gold), all
/// views into one buffer of emissions and one of their gradients.
func headLossAndGradients(
  _ head: any StructuredHead, _ sentences: [(emissions: [Float], gold: [Int])],
  parameters: [Float], labels L: Int
) -> (loss: Double, emissions: [[Float]], parameters: [Float]) {
  let emissions = sentences.flatMap(\.emissions)
  var dE = [Float](repeating: 0, count: emissions.count)
  var dθ = [Float](repeating: 0, count: parameters.count)
  let starts = sentences.reduce(into: [0]) { $0.append($0.last! + $1.emissions.count) }
  let loss = emissions.withUnsafeBufferPointer { e in
    dE.withUnsafeMutableBufferPointer { dE in
      parameters.withUnsafeBufferPointer { θ in
        dθ.withUnsafeMutableBufferPointer { dθ in
          head.lossAndGradient(
            emissions: sentences.indices.map {
              MatrixView(
                base: e.baseAddress! + starts[$0], rows: sentences[$0].gold.count, columns: L)
            },
            gold: sentences.map(\.gold), parameters: θ,
            emissionGradients: sentences.indices.map {
              MutableMatrixView(
                base: dE.baseAddress! + starts[$0], rows: sentences[$0].gold.count, columns: L)
            },
            parameterGradient: dθ)
        }
      }
    }
  }
  return (loss, sentences.indices.map { Array(dE[starts[$0]..<starts[$0 + 1]]) }, dθ)
}
