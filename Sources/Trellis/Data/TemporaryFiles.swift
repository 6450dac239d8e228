import Foundation

// The temporary files of atomic writes (`writeAtomically(to:_:)`): `.NAME.PID.tmp` beside the
// target NAME, so that one a killed process left is known by its dead process's id (the
// Python package names its own so, python/trellis/_files.py).

/// The start of a temporary file's name beside the file `name`: `.NAME.`, with NAME cut (at a
/// Unicode scalar, as the Python package cuts it at a code point, so that each finds the
/// other's) so that `.NAME.PID.tmp` stays within the NAME_MAX bytes of a file name: a 255-byte
/// `--model` was refused only when training ended, for its temporary's name.
func temporaryPrefix(of name: String) -> String {
  let room = Int(NAME_MAX) - ".".utf8.count - ".\(Int32.max).tmp".utf8.count
  var kept = Substring(name)
  while kept.utf8.count > room { kept.unicodeScalars.removeLast() }
  return ".\(kept)."
}

/// Removes `.NAME.PID.tmp` files whose process no longer runs (`kill(pid, 0)` finds none:
/// ESRCH; another user's live process, EPERM, keeps its file, as the Python package keeps it).
func removeStaleTemporaries(in directory: URL, prefix: String) {
  guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else {
    return
  }
  for name in names where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
    guard let pid = Int32(name.dropFirst(prefix.count).dropLast(4)), pid != getpid(),
      kill(pid, 0) != 0, errno == ESRCH
    else {
      continue
    }
    unlink(directory.appendingPathComponent(name).path)
  }
}
