import Foundation

/// This process's claim to be the only one writing some files until it is released: two
/// `trellis train` runs started together into one model both passed the start's check (no
/// checkpoint there yet), then each replaced the other's checkpoint and model, and the first
/// to end removed the checkpoint the other was still writing.
///
/// A file's claim is a Linux abstract-namespace Unix socket named after the SHA-256 of the
/// file's directory (device, inode) and name, as a whole-file replacement writes it
/// (`replacementTarget`): every spelling of one file claims one name, and the kernel releases
/// it when the process ends, however it ends, so a killed run leaves no lock file behind.
/// Processes in different network namespaces (containers) do not see each other's claims.
/// Claims nest within a process: `trellis train` holds its files' for the whole run and
/// `Trainer.train` claims them again for its own callers.
package final class OutputClaim {
  /// The sockets this process holds, by name, and how many claims hold each.
  private static var held: [String: (descriptor: Int32, count: Int)] = [:]
  private static let heldLock = NSLock()

  private var names: [String]

  /// Claims each of `paths` that is, or will be, a regular file; throws for the first that
  /// another process holds, naming that process. A path whose directory is missing or that
  /// names a device or a descriptor (`/dev/stdout`) is left to the checks that refuse or
  /// stream it; where this system refuses the socket itself, nothing is claimed.
  package init(_ paths: [String]) throws {
    names = []
    do {
      for path in paths {
        guard let name = Self.socketName(of: path) else { continue }
        try Self.acquire(name, for: path)
        names.append(name)
      }
    } catch {
      release()
      throw error
    }
  }

  /// Gives the claims up; a second call does nothing.
  package func release() {
    Self.heldLock.lock()
    defer { Self.heldLock.unlock() }
    for name in names {
      guard let entry = Self.held[name] else { continue }
      if entry.count > 1 {
        Self.held[name]!.count -= 1
      } else {
        close(entry.descriptor)
        Self.held[name] = nil
      }
    }
    names = []
  }

  deinit { release() }

  /// "\0trellis-output-" and 64 hex digits (a NUL first puts the name in the abstract
  /// namespace, outside the file system); nil for a path there is nothing to claim at.
  package static func socketName(of path: String) -> String? {
    guard descriptorLink(path) == nil else { return nil }
    let target = URL(fileURLWithPath: replacementTarget(path))
    guard [.absent, .regular].contains(pathKind(target.path)),
      let directory = fileIdentity(target.deletingLastPathComponent().path)
    else { return nil }
    var digest = SHA256()
    digest.update(Array("\(directory[0]):\(directory[1])/\(target.lastPathComponent)".utf8))
    return "\0trellis-output-" + digest.hexDigest()
  }

  private static func acquire(_ name: String, for path: String) throws {
    heldLock.lock()
    defer { heldLock.unlock() }
    if held[name] != nil {
      held[name]!.count += 1
      return
    }
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { return }
    let bound = withAddress(name) { bind(descriptor, $0, $1) } == 0
    // Listening lets a second claimant ask the holder's process ID (SO_PEERCRED).
    guard bound, listen(descriptor, 1) == 0 else {
      let failure = errno
      close(descriptor)
      guard failure == EADDRINUSE else { return }
      let holder = holdingProcess(of: name).map { "process \($0)" } ?? "another process"
      throw TrellisError(
        file: path, "is being written by \(holder); wait for it to end, or write another file")
    }
    held[name] = (descriptor, 1)
  }

  /// The process ID of the process listening at `name`, as the kernel recorded it.
  private static func holdingProcess(of name: String) -> pid_t? {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    guard withAddress(name, { connect(descriptor, $0, $1) }) == 0 else { return nil }
    // `struct ucred`, which Glibc declares only under _GNU_SOURCE: pid, uid, gid.
    var credentials: (pid: pid_t, uid: uid_t, gid: gid_t) = (0, 0, 0)
    var size = socklen_t(MemoryLayout.size(ofValue: credentials))
    guard getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &size) == 0 else {
      return nil
    }
    return credentials.pid
  }

  /// Calls `body` with the address of the abstract socket `name` and its length, which counts
  /// the name's bytes only: an abstract name is not NUL-terminated.
  private static func withAddress(
    _ name: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32
  ) -> Int32 {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(name.utf8)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(length)) }
    }
  }
}
