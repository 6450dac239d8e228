import Foundation
import XCTest

/// What an operator's environment does to a run: files of another kind where outputs go, links,
/// limits on file size, memory and name length, a deleted working directory. Each is refused
/// before training, or is a write error with a message, never a lost file or a hang.
final class OperatorLimitsTests: CLITestCase {
  private var train: [String] {
    ["train", "--train", PackagePaths.tiny("train"), "--quiet"] + Self.smallModelOptions
  }

  /// `--checkpoint notes.txt` replaced the notes, then removed them when training ended; a
  /// model given as `--checkpoint` went the same way, and `--log` truncated a model. A user's
  /// JSON (requests, a saved configuration) passed for a log or a bench report by its brace.
  func testAnOutputReplacesOnlyAFileOfItsOwnKind() throws {
    let notes = try write("my notes\n", to: "notes.txt")
    let requests = try write(#"{"id": 1, "text": "fly to boston"}"# + "\n", to: "requests.jsonl")
    let model = path("m")
    assertSucceeded(try trellis(train + ["--model", model]))
    let modelBytes = try Data(contentsOf: URL(fileURLWithPath: model))
    for (option, file, kind) in [
      ("--checkpoint", notes, "checkpoint"), ("--checkpoint", model, "checkpoint"),
      ("--model", notes, "model"), ("--log", model, "JSON-lines log"),
      ("--log", notes, "JSON-lines log"), ("--log", requests, "JSON-lines log"),
    ] {
      let outputs = option == "--model" ? [option, file] : ["--model", path("n"), option, file]
      assertFailed(
        try trellis(train + outputs),
        mentioning: ["\(file): is not a Trellis \(kind); refusing to replace it (\(option))"])
    }
    XCTAssertEqual(try String(contentsOfFile: notes, encoding: .utf8), "my notes\n")
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model)), modelBytes)
    let copy = path("copy")
    try modelBytes.write(to: URL(fileURLWithPath: copy))
    let bench = [
      "bench", "--model", model, "--test", PackagePaths.tiny("dev"), "--repetitions", "1",
    ]
    for file in [copy, requests] {
      let before = try Data(contentsOf: URL(fileURLWithPath: file))
      assertFailed(
        try trellis(bench + ["--json", file]),
        mentioning: ["\(file): is not a Trellis bench report; refusing to replace it (--json)"])
      XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)), before)
    }
    // An empty file (mktemp's) and a file of the kind are replaced as before: a log, and each
    // kind of bench report (`bench --model` and `bench --corpus` begin with other keys).
    try write("", to: "empty")
    assertSucceeded(try trellis(train + ["--model", path("empty"), "--log", path("log")]))
    assertSucceeded(try trellis(train + ["--model", model, "--log", path("log")]))
    let tiny = PackagePaths.root.appendingPathComponent("Corpora/tiny").path
    let corpusBench = ["bench", "--corpus", tiny, "--repetitions", "1"]
    for run in [bench, corpusBench] {
      assertSucceeded(try trellis(run + ["--json", path("report.json")]))
      assertSucceeded(try trellis(run + ["--json", path("report.json")]))
    }
  }

  /// A path ending in "/" or "/." names a directory, but Foundation's file URLs drop the
  /// slash and the dot: `bench --json test.conll/` replaced the test file with its report,
  /// `--json m/.` the model. Every output refuses such a path before any work.
  func testAnOutputNamingADirectoryReplacesNoFile() throws {
    let test = try write(
      String(contentsOfFile: PackagePaths.tiny("dev"), encoding: .utf8), to: "test.conll")
    let model = path("m")
    assertSucceeded(try trellis(train + ["--model", model]))
    let contents = { try [test, model].map { try Data(contentsOf: URL(fileURLWithPath: $0)) } }
    let before = try contents()
    let bench = ["bench", "--model", model, "--test", test, "--repetitions", "1"]
    for (command, option, output) in [
      (bench, "--json", test + "/"), (bench, "--json", model + "/."),
      (train, "--model", model + "/."),
      (train + ["--model", path("n")], "--checkpoint", test + "/"),
      (train + ["--model", path("n")], "--log", test + "/."),
    ] {
      assertFailed(
        try trellis(command + [option, output]),
        mentioning: ["\(output): names a directory; \(option) takes a file path"])
    }
    XCTAssertEqual(try contents(), before)
  }

  /// A checkpoint written through a symbolic link is removed at the link's target when
  /// training ends; removing the link alone left the target holding the checkpoint.
  func testACheckpointThroughALinkIsRemovedWhereItWasWritten() throws {
    try FileManager.default.createSymbolicLink(
      atPath: path("ck.link"), withDestinationPath: path("target.ck"))
    assertSucceeded(try trellis(train + ["--model", path("m"), "--checkpoint", path("ck.link")]))
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("target.ck")))
  }

  /// At the process's thread limit (`RLIMIT_NPROC`, a container's pids limit), tagging on
  /// several threads runs on the calling thread: libdispatch retried starting its workers for
  /// ever, and `tag` hung on CoNLL and JSON-lines input alike. Run as another user, since the
  /// limit does not bind root.
  func testTaggingAtTheThreadLimitRunsOnTheCallingThread() throws {
    guard getuid() == 0 else { throw XCTSkip("switches to another user to limit its threads") }
    let model = try sharedModel()
    let requests = try write(#"{"tokens": ["flights", "to", "boston"]}"# + "\n", to: "r.jsonl")
    // Readable by that user, and writable for its answers.
    chmod(directory.path, 0o777)
    for file in [model, requests] { chmod(file, 0o644) }
    // With no thread to spare, and with one or two: then the check's one thread started,
    // Dispatch's first worker started too and hung starting the next.
    for (input, file, limit) in [
      ("conll", PackagePaths.tiny("test"), 1), ("jsonl", requests, 1),
      ("conll", PackagePaths.tiny("test"), 2), ("conll", PackagePaths.tiny("test"), 3),
    ] {
      let answers = path("answers-\(input)")
      let (status, message) = try trellisInShell(
        #"exec timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups "#
          + #"prlimit --nproc=$LIMIT "$0" "$@" > "$ANSWERS""#,
        ["tag", "--model", model, "--threads", "4", "--input", input, file],
        environment: ["ANSWERS": answers, "LIMIT": "\(limit)"])
      XCTAssertEqual(status, 0, "\(input), --nproc=\(limit): \(message)")
      let expected = try trellis(["tag", "--model", model, "--input", input, file])
      XCTAssertEqual(
        String(decoding: FileManager.default.contents(atPath: answers) ?? Data(), as: UTF8.self),
        expected.output, input)
    }
  }

  /// Under `ulimit -v`, OpenBLAS's start-up threads retried their buffers for ever and
  /// stopping them hung `train` (which fits in the limit: it trained with one such thread).
  func testAMemoryLimitDoesNotHangTraining() throws {
    let (status, message) = try trellisInShell(
      #"ulimit -v 200000; exec timeout 60 "$0" "$@""#, train + ["--model", path("m")])
    XCTAssertEqual(status, 0, message)
    XCTAssertTrue(FileManager.default.fileExists(atPath: path("m")))
  }

  /// A long sentence's buffers are mapped with at most `Scratch.largestHeadroom` Floats over
  /// what they hold. With three times as much, `tag` of one sentence of 99,999 tokens (the
  /// shared model, one thread) reserved 851 MB of address space for 239 MB of memory, and
  /// stopped with a trap under this limit; now it reserves about 460 MB.
  func testALongSentenceFitsAnAddressSpaceLimitNearItsMemory() throws {
    let sentence = try write(String(repeating: "flights\n", count: 99_999), to: "long.conll")
    let (status, message) = try trellisInShell(
      #"ulimit -v 650000; exec "$0" "$@" > /dev/null"#,
      ["tag", "--model", try sharedModel(), "--threads", "1", sentence])
    XCTAssertEqual(status, 0, message)
  }

  /// Under `ulimit -n 5`, libdispatch's first thread could not make its event descriptor, and
  /// `tag` died of SIGILL without a word. At the limit the check asks for, the run works.
  func testTooFewOpenFilesAreRefusedWithAMessage() throws {
    let tag = ["tag", "--model", try sharedModel(), PackagePaths.tiny("test")]
    let (refused, message) = try trellisInShell(#"ulimit -n 5; exec "$0" "$@""#, tag)
    XCTAssertEqual(refused, 1, message)
    XCTAssertTrue(message.contains("open-file limit (ulimit -n) is 5"), message)
    let (status, output) = try trellisInShell(#"ulimit -n 16; exec "$0" "$@""#, tag)
    XCTAssertEqual(status, 0, output)
  }

  /// A relative output in a working directory that was deleted: `stat` and `access` still
  /// answered for it, so the run failed only when it came to write the model.
  func testADeletedWorkingDirectoryIsRefusedBeforeTraining() throws {
    try FileManager.default.createDirectory(atPath: path("gone"), withIntermediateDirectories: true)
    let (status, message) = try trellisInShell(
      #"cd "$1" && rmdir "$1" && shift && exec "$0" "$@""#,
      [path("gone")] + train + ["--model", "m", "--log", path("log")])
    XCTAssertEqual(status, 1, message)
    XCTAssertEqual(message, "Error: m: cannot be written (--model): . has been removed\n")
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("log")))
  }

  /// A name of 255 bytes, as many as a file name may have, is written: its temporary file's
  /// name is cut to fit (it was `.NAME.PID.tmp`, past the limit, found when training ended).
  /// Longer names, a default checkpoint's among them, are refused first.
  func testNamesUpToTheLimitAreWrittenAndLongerOnesRefusedFirst() throws {
    let longest = path(String(repeating: "n", count: 249) + ".model")
    assertSucceeded(try trellis(train + ["--model", longest, "--checkpoint", path("ck")]))
    XCTAssertTrue(FileManager.default.fileExists(atPath: longest))
    assertFailed(
      try trellis(train + ["--model", longest]),
      mentioning: ["has a name of 266 bytes, over the 255 a file may have (--checkpoint)"])
    assertFailed(
      try trellis(train + ["--model", path(String(repeating: "n", count: 256))]),
      mentioning: ["has a name of 256 bytes, over the 255 a file may have (--model)"])
  }
}
