import Foundation

// Nothing a user owns is lost: outputs are checked against inputs and each other before any
// work, a replaced file is replaced whole (temporary file + rename), and devices, FIFOs and
// symbolic links are never replaced by a regular file.

/// The (device, inode) of what `descriptor` holds, when that is a regular file.
private func regularFileIdentity(ofDescriptor descriptor: Int32) -> PathIdentity? {
  var info = stat()
  guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
  return .existing([UInt64(info.st_dev), UInt64(info.st_ino)])
}

/// Whether `path` (through links) is a FIFO or pipe (`mkfifo`, `<(command)`).
private func isFIFO(_ path: String) -> Bool {
  var info = stat()
  return path != "-" && stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO
}

/// What an input path names for the comparisons of `FileRoles.check`: for "-", the file on
/// standard input (`--train - < f` reads `f`).
private func inputIdentity(_ path: String) -> PathIdentity? {
  path == "-" ? regularFileIdentity(ofDescriptor: STDIN_FILENO) : PathIdentity(path)
}

/// The files of one command: the ones it reads and the ones it writes, each with the option
/// that names it.
package struct FileRoles {
  /// Files the command reads; no output may be one of them.
  package var inputs: [(option: String, path: String)] = []
  /// Files replaced whole (models, checkpoints): must be regular files or absent.
  package var replaced: [(option: String, path: String)] = []
  /// Files written in place (logs): may also be devices such as /dev/null, never directories.
  package var streamed: [(option: String, path: String)] = []
  /// The first bytes of the kind of file each output's option writes (by option, with the
  /// kind's name): a regular file already there must be empty or of that kind. `--checkpoint
  /// notes.txt` replaced the notes, and removed them when training ended; `--log` truncated a
  /// model it was given by mistake.
  package var kinds: [String: (magic: [UInt8], name: String)] = [:]

  /// No files yet; the command fills the three lists, then calls `check()`.
  package init() {}

  /// A command that reads `inputs` ("-" for standard input) and writes only standard output.
  package init(inputs: [(option: String, path: String)]) {
    self.inputs = inputs
  }

  /// Throws before any work when an output is an input or another output (compared by
  /// `PathIdentity`, so another spelling or a link to the same file is caught, whether or not
  /// it exists yet), when standard output is an input, when an output ends in "/" or "/.",
  /// when a replaced one is a directory, device or FIFO, when a file at an output is of another
  /// kind than its option writes (`kinds`), or when its directory is missing or not writable.
  package func check() throws {
    try checkStandardOutput()
    let outputs = replaced + streamed
    for file in inputs + outputs where file.path.isEmpty {
      throw OptionError.emptyPath(String(file.option.drop { $0 == "-" }))
    }
    try checkDashes()
    for (option, path) in outputs where namesOnlyADirectory(path) {
      throw TrellisError(file: path, "names a directory; \(option) takes a file path")
    }
    // Standard input can be read once: the second option given '-' found it empty.
    let fromStandardInput = inputs.filter { $0.path == "-" && $0.option.hasPrefix("--") }
      .map(\.option)
    if fromStandardInput.count > 1 {
      throw OptionError(
        String(fromStandardInput[1].dropFirst(2)),
        "- reads standard input, which \(fromStandardInput[0]) - reads already")
    }
    // So can a FIFO: the second option given one waited forever for another writer.
    for (index, input) in inputs.enumerated() where isFIFO(input.path) {
      let identity = inputIdentity(input.path)
      if let first = inputs[..<index].first(where: { inputIdentity($0.path) == identity }) {
        throw TrellisError(
          file: input.path,
          "is a pipe, which can be read once, and is given as both \(first.option) and "
            + input.option)
      }
    }
    for (index, output) in outputs.enumerated() {
      guard let identity = PathIdentity(output.path) else { continue }
      for input in inputs where inputIdentity(input.path) == identity {
        throw TrellisError(
          file: output.path, "is also the \(input.option) input; refusing to overwrite it")
      }
      for other in outputs[..<index] where PathIdentity(other.path) == identity {
        throw TrellisError(
          file: output.path, "is given as both \(other.option) and \(output.option)")
      }
    }
    for (option, path) in replaced { try checkReplaceable(path, option: option) }
    for (option, path) in streamed {
      switch pathKind(path) {
      case .directory: throw TrellisError(file: path, "is a directory, not a file (\(option))")
      case .absent: try checkWritableDirectory(of: path, named: path, option: option)
      case .regular: try checkKind(of: path, named: path, option: option)
      // A link (`/dev/stdout` too, to what the shell opened, which a log on a descriptor
      // appends to, `JSONLinesLog`) is checked as the file it leads to: a regular file as
      // any, a FIFO or terminal not read (reading one waited forever).
      case .symbolicLink:
        switch followedPathKind(path) {
        case .directory:
          throw TrellisError(file: path, "leads to a directory, not a file (\(option))")
        case .regular: try checkKind(of: path, named: path, option: option)
        case .absent, .symbolicLink, .special: break
        }
      case .special: break
      }
    }
  }

  /// Throws where "-", standard input to every input option, names an output, which made a
  /// file named "-" (`--model -`, `--log -`), or a model: a model's reader checks its header
  /// against the file's size, which a stream has not (`ModelFile.openRegularFile`).
  private func checkDashes() throws {
    func name(_ option: String) -> String { String(option.drop { $0 == "-" }) }
    for (option, path) in replaced where path == "-" {
      throw OptionError(name(option), "- would write a file named '-'; give the file's path")
    }
    for (option, path) in streamed where path == "-" {
      throw OptionError(
        name(option),
        "- would write a file named '-'; give the file's path (/dev/stdout for standard output)")
    }
    for (option, path) in inputs where path == "-" && ["--model", "MODEL"].contains(option) {
      throw OptionError(
        name(option), "- is standard input, which a model is not read from; give its file")
    }
  }

  /// Throws unless the directory a new file at `target` goes into exists and is writable.
  private func checkWritableDirectory(of target: String, named path: String, option: String)
    throws
  {
    let directory = URL(fileURLWithPath: target).deletingLastPathComponent().path
    var info = stat()
    guard stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR,
      access(directory, W_OK) == 0
    else {
      throw TrellisError(
        file: path,
        "cannot be written (\(option)): \(visibleControlCharacters(directory)) is missing or "
          + "not writable")
    }
    // A removed directory (a deleted working directory) still answers stat and access, with
    // no links left; creating a file in it fails, which was found only when training ended.
    guard info.st_nlink > 0 else {
      throw TrellisError(
        file: path, "cannot be written (\(option)): \(directory) has been removed")
    }
  }

  /// Throws when standard output or standard error, a regular file, is one of `inputs`:
  /// `trellis tag f >> f` would append to the file it is reading, `trellis info m >> m` damage
  /// the model (cat refuses an input file that is its output file alike), and `trellis train
  /// --train f >> f 2>&1` would append its progress lines. When standard error is the input,
  /// it is first pointed at the terminal (/dev/tty), or at /dev/null when the process has
  /// none, so that the refusal itself is not written onto the input: the command then fails
  /// with status 1 and its message on the terminal, or none, which loses nothing.
  private func checkStandardOutput() throws {
    let streams = [("standard error", STDERR_FILENO), ("standard output", STDOUT_FILENO)]
    for (stream, descriptor) in streams {
      guard let output = regularFileIdentity(ofDescriptor: descriptor) else { continue }
      for (option, path) in inputs where inputIdentity(path) == output {
        let name = LineReader.displayName(of: path)
        if descriptor == STDERR_FILENO {
          var elsewhere = open("/dev/tty", O_WRONLY | O_NOCTTY)
          if elsewhere < 0 { elsewhere = open("/dev/null", O_WRONLY) }
          if elsewhere < 0 || dup2(elsewhere, STDERR_FILENO) < 0 { exit(1) }  // nowhere safe
          close(elsewhere)
        }
        throw TrellisError(
          file: name, "is also \(stream); refusing to write onto the \(option) input")
      }
    }
  }

  private func checkReplaceable(_ path: String, option: String) throws {
    if let descriptor = descriptorLink(path) {
      throw TrellisError(
        file: path,
        "names an open file descriptor (\(descriptor)), not a file; give the file's own path "
          + "(\(option) is replaced by renaming a file beside it)")
    }
    let target = replacementTarget(path)
    switch pathKind(target) {
    case .directory: throw TrellisError(file: path, "is a directory, not a file (\(option))")
    case .special:
      throw TrellisError(file: path, "is a device or FIFO, not a regular file (\(option))")
    case .symbolicLink:
      throw TrellisError(file: path, "is a symbolic link that leads to no file (a loop)")
    case .absent: break
    case .regular: try checkKind(of: target, named: path, option: option)
    }
    let name = URL(fileURLWithPath: target).lastPathComponent
    if name.utf8.count > Int(NAME_MAX) {
      throw TrellisError(
        file: path,
        "has a name of \(name.utf8.count) bytes, over the \(NAME_MAX) a file may have (\(option))")
    }
    try checkWritableDirectory(of: target, named: path, option: option)
  }

  /// Throws when the regular file `target` is not empty and does not begin as the kind of
  /// file `option` writes.
  private func checkKind(of target: String, named path: String, option: String) throws {
    guard let kind = kinds[option], let start = leadingBytes(of: target, count: kind.magic.count)
    else { return }
    guard start.isEmpty || start == kind.magic else {
      throw TrellisError(
        file: path,
        "is not a Trellis \(kind.name); refusing to replace it (\(option)): remove it, or "
          + "name another file")
    }
  }
}

/// The first `count` bytes of the file at `path` (fewer when it is shorter, none when it cannot
/// be read), or nil when it cannot be opened: how its kind is told by its magic bytes.
func leadingBytes(of path: String, count: Int) -> [UInt8]? {
  guard let file = FileHandle(forReadingAtPath: path) else { return nil }
  defer { try? file.close() }
  return Array((try? file.read(upToCount: count)) ?? Data())
}

/// The temporary file of the `writeAtomically` in progress, as a C string a signal handler
/// may unlink. One write at a time (`atomicWrites`): two threads writing one path took the
/// same temporary name, and one renamed the other's half-written file into place.
nonisolated(unsafe) private var temporaryInProgress: UnsafeMutablePointer<CChar>?
private let atomicWrites = NSLock()

/// Makes SIGTERM, SIGINT and SIGHUP remove the temporary file of a write in progress before
/// the process ends with the signal's usual status. Only async-signal-safe calls run in the
/// handler.
package func removeTemporaryFilesOnTermination() {
  for signal in [SIGTERM, SIGINT, SIGHUP] {
    Foundation.signal(signal) { number in
      if let path = temporaryInProgress { unlink(path) }
      Foundation.signal(number, SIG_DFL)
      raise(number)
    }
  }
}

/// Writes `data` as `writeAtomically(to:_:)` does: a temporary file beside the target, then a
/// rename, refusing a directory, device or FIFO at `path`.
package func writeAtomically(_ data: Data, to path: String) throws {
  try writeAtomically(to: path) { try $0.write(contentsOf: data) }
}

/// Lets `write` fill a temporary file beside the target, flushes it, and renames it over the
/// target, so a reader (or a crash) never sees half a file and an existing file survives a
/// failed write. The target is `path`, or the final target of a symbolic link at `path`;
/// a device, FIFO or directory there is refused, never replaced. Temporary files that an
/// earlier, killed run left for the same target are removed. Writes from several threads take
/// turns.
func writeAtomically(to path: String, _ write: (FileHandle) throws -> Void) throws {
  // A NUL ends the name open(2) is given: `a\0b.model` wrote `a%00b.model` (Foundation's URL)
  // or `a`, another file than the one named.
  guard !path.utf8.contains(0) else {
    throw TrellisError(
      file: path.replacingOccurrences(of: "\0", with: "\\0"),
      "names a path with a NUL character, which no file name can hold")
  }
  atomicWrites.lock()
  defer { atomicWrites.unlock() }
  let target = URL(fileURLWithPath: replacementTarget(path))
  guard !namesOnlyADirectory(path), [.absent, .regular].contains(pathKind(target.path)) else {
    throw TrellisError(file: path, "is not a regular file; refusing to replace it")
  }
  let directory = target.deletingLastPathComponent()
  let prefix = temporaryPrefix(of: target.lastPathComponent)
  removeStaleTemporaries(in: directory, prefix: prefix)
  let temporary = directory.appendingPathComponent(prefix + "\(getpid()).tmp")
  temporaryInProgress = strdup(temporary.path)
  defer {
    let path = temporaryInProgress
    temporaryInProgress = nil
    free(path)
  }
  do {
    // open(2) itself: FileManager.createFile goes through a temporary file of its own
    // (`.dat.nosync…`), which a kill at the wrong moment left behind for good. Created afresh
    // (O_EXCL, never through a link planted at the name): what is there is this process's
    // own earlier temporary or a stranger's, removed first.
    let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
    var descriptor = open(temporary.path, flags, 0o666)
    if descriptor < 0 && errno == EEXIST {
      unlink(temporary.path)
      descriptor = open(temporary.path, flags, 0o666)
    }
    guard descriptor >= 0 else {
      throw TrellisError(file: path, "cannot be written: \(String(cString: strerror(errno)))")
    }
    let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    do {
      try write(handle)
      try handle.synchronize()
    } catch {
      try? handle.close()
      throw error
    }
    try handle.close()
    keepAttributes(of: target.path, on: temporary.path)
    guard rename(temporary.path, target.path) == 0 else {
      throw TrellisError(file: path, "cannot be replaced: \(String(cString: strerror(errno)))")
    }
  } catch {
    unlink(temporary.path)
    throw error as? TrellisError
      ?? TrellisError(file: path, "cannot be written: \(systemReason(error))")
  }
}

/// The operating system's words for a failed file operation (`strerror`: "File too large",
/// "No space left on device") where Foundation wraps them in a generic error ("The operation
/// could not be completed. (NSCocoaErrorDomain error 512.)").
private func systemReason(_ error: Error) -> String {
  let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
  guard let posix = underlying, posix.domain == NSPOSIXErrorDomain else {
    return error.localizedDescription
  }
  return String(cString: strerror(Int32(posix.code)))
}

/// Opens `path` for writing from its start, truncating a regular file, or with `appending`
/// after its end, and leaving a device such as /dev/null a device (no rename, no
/// replacement): how logs are written.
package func openForStreaming(_ path: String, appending: Bool = false) throws -> FileHandle {
  let descriptor = open(
    path, O_WRONLY | O_CREAT | (appending ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0o644)
  guard descriptor >= 0 else {
    throw TrellisError(
      file: path, "cannot be opened for writing: \(String(cString: strerror(errno)))")
  }
  return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
}

/// Gives the file at `temporary` the permissions of the one at `replaced`, which it replaces
/// (a model made read-only for others stays so), and its owner and group where the process
/// may give them (root, or a group it is in): the group may be what lets others read it.
/// Nothing where no file is replaced. Owner first: chown(2) clears set-id bits.
private func keepAttributes(of replaced: String, on temporary: String) {
  var status = stat()
  guard stat(replaced, &status) == 0 else { return }
  if chown(temporary, status.st_uid, status.st_gid) != 0 {
    _ = chown(temporary, uid_t.max, status.st_gid)  // uid -1: the group alone
  }
  chmod(temporary, status.st_mode & 0o7777)
}
