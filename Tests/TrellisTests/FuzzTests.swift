import ConllEval
import Foundation
import XCTest

@testable import Trellis

/// Seeded random-mutation fuzzing of the code that reads untrusted bytes: the CoNLL reader, the
/// model loader and conlleval scoring. Every input must be handled (parsed, or refused with the
/// library's error type), never crash, and what is parsed must make sense.
///
/// Iterations, 5,000 inputs in about 5 s of a debug build on 2 cores (the names say how many):
///   CoNLL reader     1,000 mutated copies of Corpora/tiny/train.conll, each also checked against
///                    a byte-level reference reader
///   model loader     2,000 damaged model files: truncations at every length up to 200 and at 20
///                    random lengths, single bit flips, byte overwrites in the prelude, header,
///                    parameters and checksum, and multi-byte damage; all must be refused
///   conlleval        2,000 mutated conlleval inputs
/// TRELLIS_FUZZ_SCALE=N in the environment runs N times as many (the same first inputs, then
/// more), for a longer search. Any input that ever failed one of them belongs in
/// FuzzRegressions/, which `testEdgeCasesAndFuzzRegressionsAreHandled` replays.
final class FuzzTests: XCTestCase {
  static let scale = Int(ProcessInfo.processInfo.environment["TRELLIS_FUZZ_SCALE"] ?? "") ?? 1
  static let readerInputs = 1_000 * scale
  static let modelInputs = 2_000 * scale
  static let scoreInputs = 2_000 * scale

  // MARK: - (a) CoNLL reader

  func testCoNLLReaderHandles1000MutatedCorpora() throws {
    let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture("train.conll"))))
    var mutator = Mutator(seed: 0xC0_11)
    let path = temporaryPath("fuzz-reader.conll")
    var parsed = 0
    var refused = 0
    for iteration in 0..<Self.readerInputs {
      let input = mutator.mutate(original)
      let minimumColumns = iteration % 2 + 1
      switch try checkReader(input, minimumColumns: minimumColumns, path: path) {
      case .handled(parsed: true): parsed += 1
      case .handled(parsed: false): refused += 1
      case .failed(let problem):
        saveCounterexample(input, ".conll")
        return XCTFail(
          "input \(iteration) (seed 0xC011, minimumColumns \(minimumColumns)): \(problem)")
      }
    }
    // Both outcomes must occur, or the mutations are too timid (or too destructive) to test much.
    XCTAssertEqual(parsed + refused, Self.readerInputs, "\(Self.readerInputs) inputs")
    XCTAssertGreaterThan(parsed, Self.readerInputs / 10, "\(parsed) parsed, \(refused) refused")
    XCTAssertGreaterThan(refused, Self.readerInputs / 10, "\(parsed) parsed, \(refused) refused")
  }

  /// How an input fared: handled (parsed or refused as it should be), or what went wrong.
  enum Check: Equatable {
    case handled(parsed: Bool)
    case failed(String)
  }

  /// Reads `input` from `path`: it must parse into sentences that keep the reader's invariants,
  /// or throw a `TrellisError` for this file; either way the outcome must be the reference
  /// reader's.
  func checkReader(_ input: [UInt8], minimumColumns: Int, path: String) throws -> Check {
    try Data(input).write(to: URL(fileURLWithPath: path))
    let expected = ReferenceReader.read(input, minimumColumns: minimumColumns)
    do {
      let sentences = try CoNLLReader(path: path, minimumColumns: minimumColumns).readAll()
      if let problem = invariantViolation(sentences, minimumColumns: minimumColumns) {
        return .failed(problem)
      }
      guard case .sentences(let reference) = expected else {
        return .failed("parsed, but the reference refuses: \(expected)")
      }
      guard sentences == reference else {
        return .failed("parsed differently from the reference reader")
      }
      guard try readAsLines(path, minimumColumns: minimumColumns) == sentences else {
        return .failed("nextLines() read other sentences than next()")
      }
      return .handled(parsed: true)
    } catch let error as TrellisError {
      guard error.file == path else {
        return .failed("error names \(error.file), not the file: \(error)")
      }
      guard case .error(let line) = expected else {
        return .failed("refused (\(error)), but the reference parses it")
      }
      guard error.line == line else {
        let lines =
          "\(error.line.map(String.init) ?? "none"), reference \(line.map(String.init) ?? "none")"
        return .failed("error on line \(lines): \(error)")
      }
      do {
        // `readAll` refuses an input without sentences, where `nextLines()` ends at once.
        guard try readAsLines(path, minimumColumns: minimumColumns) == [], error.line == nil else {
          return .failed("nextLines() read what next() refused (\(error))")
        }
      } catch let linesError as TrellisError {
        guard linesError == error else {
          return .failed("nextLines() refused with \(linesError), next() with \(error)")
        }
      }
      return .handled(parsed: false)
    } catch {
      return .failed("threw a \(type(of: error)), not a TrellisError: \(error)")
    }
  }

  /// The sentences of `path` as `CoNLLReader.nextLines()` reads them, each made a `Sentence`
  /// from its fields; nil when a line's bytes in `text` are not its fields, each followed by a
  /// tab (what `tag` copies to its answer).
  func readAsLines(_ path: String, minimumColumns: Int) throws -> [Sentence]? {
    let reader = try CoNLLReader(path: path, minimumColumns: minimumColumns)
    var sentences: [Sentence] = []
    while let lines = try reader.nextLines() {
      let fields = (0..<lines.count).map { line in
        (0..<lines.fieldsPerLine).map { lines.field($0, ofLine: line) }
      }
      for (line, fields) in fields.enumerated() {
        let text = String(decoding: lines.text[lines.lineBytes(line)], as: UTF8.self)
        guard ExactString(text) == ExactString(fields.map { $0 + "\t" }.joined()) else {
          return nil
        }
      }
      sentences.append(Sentence(fields: fields, firstLine: lines.firstLine))
    }
    return sentences
  }

  /// The first broken invariant of parsed sentences: non-empty sentences of non-empty fields free
  /// of separators, one column count (at least `minimumColumns`) throughout, no -DOCSTART-, and
  /// first lines that increase.
  func invariantViolation(_ sentences: [Sentence], minimumColumns: Int) -> String? {
    guard !sentences.isEmpty else { return "readAll returned no sentences instead of throwing" }
    let columns = sentences[0].fields[0].count
    guard columns >= minimumColumns else {
      return "\(columns) columns, fewer than \(minimumColumns)"
    }
    var previousLine = 0
    for sentence in sentences {
      guard !sentence.fields.isEmpty else { return "an empty sentence" }
      guard sentence.firstLine > previousLine else {
        return "first line \(sentence.firstLine) after \(previousLine)"
      }
      previousLine = sentence.firstLine + sentence.count - 1
      for fields in sentence.fields {
        guard fields.count == columns else {
          return "line with \(fields.count) columns, not \(columns)"
        }
        guard fields[0] != "-DOCSTART-" else { return "a -DOCSTART- line was kept" }
        for field in fields {
          guard !field.isEmpty,
            !field.unicodeScalars.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" })
          else { return "field \(field.debugDescription) is empty or holds a separator" }
        }
      }
    }
    return nil
  }

  // MARK: - (b) Model loader

  func testModelLoaderRefuses2000DamagedModelFiles() throws {
    let original = [UInt8](try ModelFile.encode(try tinyTrainedModel()))
    XCTAssertNoThrow(
      try ModelFile.decode(Data(original), name: "intact"), "the undamaged file must load")
    let headerEnd = 16 + Int(readLittleEndian(original, at: 12))
    let regions: [Range<Int>] = [
      0..<16, 16..<headerEnd, headerEnd..<(original.count - 4),
      (original.count - 4)..<original.count,
    ]
    var rng = SplitMix64(seed: 0x30D_E1)
    func random(_ range: Range<Int>) -> Int {
      range.lowerBound + Int(rng.next() % UInt64(range.count))
    }
    /// A different byte at `offset`.
    func overwrite(_ bytes: inout [UInt8], at offset: Int) {
      bytes[offset] ^= UInt8(random(1..<256))
    }

    var inputs: [(String, [UInt8])] = []
    for length in 0...min(200, original.count - 1) {
      inputs.append(("truncated to \(length)", Array(original[..<length])))
    }
    for _ in 0..<20 {
      let length = random(201..<original.count)
      inputs.append(("truncated to \(length)", Array(original[..<length])))
    }
    while inputs.count < Self.modelInputs {
      var bytes = original
      let kind = inputs.count % 4
      let description: String
      if kind == 0 {
        let bit = random(0..<(8 * bytes.count))
        bytes[bit / 8] ^= 1 << (bit % 8)
        description = "bit \(bit) flipped"
      } else if kind == 1 || kind == 2 {
        // Overwrites cycle through the regions so the small ones (prelude, checksum) get their share.
        let region = regions[(inputs.count / 4) % regions.count]
        let offset = random(region)
        overwrite(&bytes, at: offset)
        description = "byte \(offset) overwritten"
      } else {
        let offsets = (0..<random(2..<6)).map { _ in random(0..<bytes.count) }
        for offset in offsets { overwrite(&bytes, at: offset) }
        description = "bytes \(offsets) overwritten"
      }
      if bytes != original { inputs.append((description, bytes)) }
    }

    var refused = 0
    for (description, bytes) in inputs {
      do {
        _ = try ModelFile.decode(Data(bytes), name: "fuzzed")
        saveCounterexample(bytes, ".model")
        return XCTFail("a damaged model file was accepted (\(description))")
      } catch let error as TrellisError {
        guard error.file == "fuzzed" else {
          return XCTFail("\(description): error names \(error.file)")
        }
        refused += 1
      } catch {
        saveCounterexample(bytes, ".model")
        return XCTFail("\(description): threw a \(type(of: error)), not a TrellisError: \(error)")
      }
    }
    XCTAssertEqual(refused, Self.modelInputs, "damaged model files refused")
  }

  /// A BiLSTM-CRF with embeddings 4 and hidden size 4 after one epoch on the tiny corpus: a real
  /// vocabulary and label set in the header, small enough to decode thousands of times.
  func tinyTrainedModel() throws -> TaggerModel {
    var configuration = TaggerConfiguration()
    configuration.embeddingSize = 4
    configuration.hiddenSize = 4
    var options = TrainingOptions()
    options.epochs = 1
    return try Trainer(configuration: configuration, options: options)
      .train(train: readLabelledCoNLL(path: fixture("train.conll")), dev: [])
  }

  // MARK: - (c) conlleval scoring

  func testScoreConllHandles2000MutatedInputs() throws {
    let original = try [UInt8](Data(conllevalInput().utf8))
    var mutator = Mutator(seed: 0x5C_0E)
    var scored = 0
    var refused = 0
    for iteration in 0..<Self.scoreInputs {
      let input = mutator.mutate(original)
      switch checkScore(input) {
      case .handled(parsed: true): scored += 1
      case .handled(parsed: false): refused += 1
      case .failed(let problem):
        saveCounterexample(input, ".score")
        return XCTFail("input \(iteration) (seed 0x5C0E): \(problem)")
      }
    }
    XCTAssertEqual(scored + refused, Self.scoreInputs, "\(Self.scoreInputs) inputs")
    XCTAssertGreaterThan(scored, Self.scoreInputs / 10, "\(scored) scored, \(refused) refused")
    XCTAssertGreaterThan(refused, Self.scoreInputs / 10, "\(scored) scored, \(refused) refused")
  }

  /// conlleval input built from Corpora/tiny/test.conll: token, gold label, and a prediction
  /// that is the gold label with every seventh label changed.
  func conllevalInput() throws -> String {
    let sentences = try readLabelledCoNLL(path: fixture("test.conll"))
    var index = 0
    return sentences.map { sentence in
      zip(sentence.tokens, sentence.labels).map { token, gold in
        index += 1
        let predicted = index % 7 != 0 ? gold : gold == "O" ? "B-toloc.city_name" : "O"
        return "\(token) \(gold) \(predicted)\n"
      }.joined() + "\n"
    }.joined()
  }

  /// Scores `input` (as `trellis score` would after decoding): the result must be a
  /// `ConllEvalError` naming an existing line, or counts that are consistent and print as a
  /// report and as valid JSON.
  func checkScore(_ input: [UInt8]) -> Check {
    let text = String(decoding: input, as: UTF8.self)
    let lineCount = ReferenceReader.lines(input).count + 1
    do {
      let counts = try scoreConll(text: text, fileName: "f")
      guard counts.correctTokenCount <= counts.tokenCount, counts.tokenCount <= lineCount else {
        return .failed(
          "\(counts.correctTokenCount) correct of \(counts.tokenCount) tokens in \(lineCount) lines"
        )
      }
      guard counts.correctChunkCount <= min(counts.goldChunkCount, counts.predictedChunkCount)
      else {
        let chunks = "\(counts.goldChunkCount) gold, \(counts.predictedChunkCount) found"
        return .failed("\(counts.correctChunkCount) correct chunks of \(chunks)")
      }
      let types = counts.perType.values
      guard types.reduce(0, { $0 + $1.gold }) == counts.goldChunkCount,
        types.reduce(0, { $0 + $1.predicted }) == counts.predictedChunkCount,
        types.reduce(0, { $0 + $1.correct }) <= counts.correctChunkCount
      else { return .failed("per-type counts do not add up to the totals") }
      guard counts.report().hasPrefix("processed \(counts.tokenCount) tokens") else {
        return .failed("bad report")
      }
      guard (try? JSONSerialization.jsonObject(with: Data(counts.json().utf8))) != nil else {
        return .failed("invalid JSON")
      }
      return .handled(parsed: true)
    } catch let error as ConllEvalError {
      guard error.fileName == "f", (1...lineCount).contains(error.line) else {
        return .failed("error \(error) names no line of the input")
      }
      return .handled(parsed: false)
    } catch {
      return .failed("threw a \(type(of: error)), not a ConllEvalError: \(error)")
    }
  }

  // MARK: - Edge cases and the regression corpus

  /// Edge cases that random mutation rarely reaches, then every file of FuzzRegressions/ (inputs
  /// that once failed a fuzz test), each checked as the fuzz tests check theirs: `.conll` by the
  /// reader (both column minimums), `.model` by the loader (must refuse), `.score` by conlleval
  /// scoring. The folder is read by path (the test target has no resources); until Package.swift
  /// excludes it, SwiftPM warns about its files as unhandled.
  func testEdgeCasesAndFuzzRegressionsAreHandled() throws {
    var inputs = try edgeCases()
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("FuzzRegressions")
    for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
      .sorted()
    {
      inputs.append((name, try [UInt8](Data(contentsOf: directory.appendingPathComponent(name)))))
    }
    var checked = 0
    for (name, input) in inputs {
      switch URL(fileURLWithPath: name).pathExtension {
      case "conll":
        for minimumColumns in [1, 2] {
          let check = try checkReader(
            input, minimumColumns: minimumColumns, path: temporaryPath("edge.conll"))
          if case .failed(let problem) = check {
            XCTFail("\(name), minimumColumns \(minimumColumns): \(problem)")
          }
        }
      case "model":
        XCTAssertThrowsError(try ModelFile.decode(Data(input), name: name), name) {
          XCTAssertTrue($0 is TrellisError, "\(name): \($0)")
        }
      case "score":
        if case .failed(let problem) = checkScore(input) { XCTFail("\(name): \(problem)") }
      default:
        continue
      }
      checked += 1
    }
    XCTAssertGreaterThanOrEqual(checked, 25, "edge cases and regressions checked")
  }

  /// Named inputs at the edges of each format.
  func edgeCases() throws -> [(String, [UInt8])] {
    let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    let conll: [(String, [UInt8])] = [
      ("empty.conll", []), ("bom-only.conll", bom), ("crlf-only.conll", Array("\r\n\r\n".utf8)),
      ("no-newline.conll", Array("a\tO".utf8)), ("cr-without-lf.conll", Array("a\tO\r".utf8)),
      ("docstart-only.conll", Array("-DOCSTART- -X- O\n\n".utf8)),
      (
        "bom-crlf-nul-docstart.conll",
        bom + Array("-DOCSTART- O\r\n\r\nf\u{0}ly\tO\r\n \t \r\nto O\r\n".utf8)
      ),
      ("bom-on-line-2.conll", Array("a\tO\n".utf8) + bom + Array("b\tO\n".utf8)),
      ("lone-continuation-byte.conll", Array("a\tO\n".utf8) + [0x80, 0x09, 0x4F, 0x0A]),
      ("overlong-encoding.conll", [0xC0, 0xAF, 0x09, 0x4F, 0x0A]),
      ("encoded-surrogate.conll", [0xED, 0xA0, 0x80, 0x09, 0x4F, 0x0A]),
      ("four-byte-characters.conll", Array("😀\tO\n𝄞\tB-x\n".utf8)),
    ]
    let score: [(String, [UInt8])] = [
      ("empty.score", []), ("boundary-marker.score", Array("-X- a b\n".utf8)),
      ("dash-only-labels.score", Array("x B- I-\ny - -\n".utf8)),
      ("unicode-types.score", Array("x B-城市 B-城市\ny I-城市 I-城市\n".utf8)),
      ("one-column.score", Array("x\n".utf8)),
      ("bom-crlf.score", bom + Array("a O O\r\n\r\n".utf8)),
    ]
    // Model files: a damaged prelude, and well-formed files (correct checksum) whose header lies.
    let magic = ModelFile.magic
    func prelude(version: UInt32, headerLength: UInt32) -> [UInt8] {
      var data = Data(magic)
      appendLittleEndian(version, to: &data)
      appendLittleEndian(headerLength, to: &data)
      return [UInt8](data)
    }
    func sealed(_ bytes: [UInt8]) -> [UInt8] {
      var data = Data(bytes)
      appendLittleEndian(crc32(data), to: &data)
      return [UInt8](data)
    }
    let intact = [UInt8](try ModelFile.encode(makeModel()))
    let headerEnd = 16 + Int(readLittleEndian(intact, at: 12))
    /// `intact` with its header rewritten by `change`, checksum recomputed.
    func rewritten(_ change: (inout [String: Any]) -> Void) throws -> [UInt8] {
      var header = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(intact[16..<headerEnd])) as? [String: Any])
      change(&header)
      let json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
      let parameters = intact[headerEnd..<(intact.count - 4)]
      return sealed(prelude(version: 1, headerLength: UInt32(json.count)) + json + parameters)
    }
    let models: [(String, [UInt8])] = [
      ("magic-only.model", magic),
      ("nineteen-bytes.model", prelude(version: 1, headerLength: 0) + [0, 0, 0]),
      (
        "header-length-max.model",
        prelude(version: 1, headerLength: .max) + [UInt8](repeating: 0, count: 8)
      ),
      ("version-0.model", sealed(prelude(version: 0, headerLength: 2) + Array("{}".utf8))),
      ("empty-header.model", sealed(prelude(version: 1, headerLength: 2) + Array("{}".utf8))),
      ("no-labels.model", try rewritten { $0["labels"] = [String]() }),
      ("no-slots.model", try rewritten { $0["slots"] = [Any]() }),
      (
        "unknown-encoder.model",
        try rewritten { header in
          var configuration = header["configuration"] as? [String: Any] ?? [:]
          configuration["encoder"] = "transformer"
          header["configuration"] = configuration
        }
      ),
    ]
    return conll + score + models
  }

  /// Keeps a failing input where `make test`'s user can find it, for FuzzRegressions/.
  func saveCounterexample(_ bytes: [UInt8], _ suffix: String) {
    let path = temporaryPath("fuzz-counterexample-\(UUID().uuidString)\(suffix)")
    try? Data(bytes).write(to: URL(fileURLWithPath: path))
    XCTFail("the failing input is in \(path); add it to Tests/TrellisTests/FuzzRegressions/")
  }
}

/// Random byte-level mutations: bit flips, insertions of bytes that matter to line readers
/// (NUL, CR, LF, 0xFF, tab, space, a byte-order mark, a lone UTF-8 lead byte), deletions,
/// truncations and duplicated chunks; one to four per input.
struct Mutator {
  var rng: SplitMix64

  init(seed: UInt64) { rng = SplitMix64(seed: seed) }

  static let interestingBytes: [[UInt8]] = [
    [0x00], [0x0D], [0x0A], [0xFF], [0x09], [0x20], [0x0D, 0x0A], [0x0A, 0x0A], [0xEF, 0xBB, 0xBF],
    [0xC3],
  ]

  mutating func random(_ count: Int) -> Int { Int(rng.next() % UInt64(max(count, 1))) }

  mutating func mutate(_ original: [UInt8]) -> [UInt8] {
    var bytes = original
    for _ in 0...random(4) {
      let position = random(bytes.count + 1)
      switch random(7) {
      case 0 where !bytes.isEmpty:
        bytes[min(position, bytes.count - 1)] ^= 1 << UInt8(random(8))
      case 1:
        bytes.insert(
          contentsOf: Self.interestingBytes[random(Self.interestingBytes.count)], at: position)
      case 2:
        bytes.insert(contentsOf: (0...random(4)).map { _ in UInt8(random(256)) }, at: position)
      case 3:
        bytes.removeSubrange(position..<min(bytes.count, position + 1 + random(16)))
      case 4:
        bytes.removeSubrange(position...)
      case 5:
        let chunk = bytes[position..<min(bytes.count, position + 1 + random(256))]
        bytes.insert(contentsOf: chunk, at: random(bytes.count + 1))
      default:
        if !bytes.isEmpty {
          bytes[min(position, bytes.count - 1)] = Self.interestingBytes[random(6)][0]
        }
      }
    }
    return bytes
  }
}

/// An independent reading of CoNLL bytes, the reader's documented rules written out over bytes:
/// lines end at LF, CRLF or a lone CR; a byte-order mark at the start is dropped; a line
/// that is not UTF-8 is an error; fields are separated by runs of spaces and tabs; a line
/// without fields ends a sentence; -DOCSTART- lines are skipped; every other line needs the
/// first line's column count, and the first at least `minimumColumns`; no sentence at all is an
/// error of the whole file.
private enum ReferenceReader {
  enum Outcome: Equatable {
    case sentences([Sentence])
    /// An error on this line, or of the whole file (nil).
    case error(line: Int?)
  }

  static func read(_ bytes: [UInt8], minimumColumns: Int) -> Outcome {
    let lines = Self.lines(bytes)
    var sentences: [Sentence] = []
    var current: [[String]] = []
    var firstLine = 0
    var columns: Int?
    for (index, rawLine) in lines.enumerated() {
      let number = index + 1
      var line = Array(rawLine)
      if number == 1, line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
      // Valid UTF-8 is exactly what decodes and re-encodes to the same bytes.
      guard Array(String(decoding: line, as: UTF8.self).utf8) == line else {
        return .error(line: number)
      }
      let fields = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 }).map {
        String(decoding: $0, as: UTF8.self)
      }
      if fields.isEmpty {
        if !current.isEmpty { sentences.append(Sentence(fields: current, firstLine: firstLine)) }
        current = []
        continue
      }
      if fields[0] == "-DOCSTART-" { continue }
      if columns == nil {
        guard fields.count >= minimumColumns else { return .error(line: number) }
        columns = fields.count
      }
      guard fields.count == columns else { return .error(line: number) }
      if current.isEmpty { firstLine = number }
      current.append(fields)
    }
    if !current.isEmpty { sentences.append(Sentence(fields: current, firstLine: firstLine)) }
    return sentences.isEmpty ? .error(line: nil) : .sentences(sentences)
  }

  /// The lines of `bytes`, each ended by LF, CRLF or a lone CR; a final line end starts no line.
  static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    var lines: [ArraySlice<UInt8>] = []
    var start = 0
    var index = 0
    while index < bytes.count {
      let byte = bytes[index]
      index += 1
      guard byte == 0x0A || byte == 0x0D else { continue }
      lines.append(bytes[start..<index - 1])
      if byte == 0x0D && index < bytes.count && bytes[index] == 0x0A { index += 1 }
      start = index
    }
    if start < bytes.count { lines.append(bytes[start...]) }
    return lines
  }
}
