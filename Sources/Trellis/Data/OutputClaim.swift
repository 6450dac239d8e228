import Foundation

/// This process's claim to be the only one writing some files until it is released: two
/// `trellis train` runs started together into one model both passed the start's check (no
/// checkpoint there yet), then each replaced the other's checkpoint and model, and the first
/// to end removed the checkpoint the other was still writing.
///
/// A file's claim is a Linux abstract-namespace Unix socket, bound and never listening, named
/// after the SHA-256 of the file's directory (device, inode) and name, as a whole-file
/// replacement writes it (`replacementTarget`): every spelling of one file claims one name,
/// and the kernel releases it when the process ends, however it ends, so a killed run leaves
/// no lock file behind. A file written in place (a log) is claimed by its own (device,
/// inode) too, which its hard links share, once it exists: its writer claims it again when
/// it has opened it. Processes in different network namespaces (containers) do not see each
/// other's claims, and any local user can bind a name first.
/// Claims nest within a process: `trellis train` holds its files' for the whole run and
/// `Trainer.train` claims them again for its own callers.
package final class OutputClaim {
  /// The sockets this process holds, by name, and how many claims hold each.
  private static var held: [String: (descriptor: Int32, count: Int)] = [:]
  private static let heldLock = NSLock()

  private var names: [String] = []

  /// Claims each of the files that `replaced` (replaced whole, by a rename) and `streamed`
  /// (written in place) name, or will name, as regular files; throws for the first that
  /// another process holds, naming that process where this one can see it. A path whose
  /// directory is missing or that names a device or a descriptor (`/dev/stdout`) is left to
  /// the checks that refuse or stream it; where this system refuses the socket itself,
  /// nothing is claimed.
  package init(replaced: [String] = [], streamed: [String] = []) throws {
    let claims =
      replaced.map { ($0, Self.socketName(of: $0)) }
      + streamed.flatMap { [($0, Self.socketName(of: $0)), ($0, Self.socketName(ofFile: $0))] }
    do {
      for case (let path, let name?) in claims {
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

  /// The claim's name for the file a whole-file replacement of `path` writes: its directory's
  /// (device, inode) and its name; nil for a path there is nothing to claim at.
  package static func socketName(of path: String) -> String? {
    guard descriptorLink(path) == nil else { return nil }
    let target = URL(fileURLWithPath: replacementTarget(path))
    guard [.absent, .regular].contains(pathKind(target.path)),
      let directory = fileIdentity(target.deletingLastPathComponent().path)
    else { return nil }
    return socketName(hashing: "\(directory[0]):\(directory[1])/\(target.lastPathComponent)")
  }

  /// The claim's name for the regular file at `path` itself, by its (device, inode); nil when
  /// there is none.
  static func socketName(ofFile path: String) -> String? {
    guard descriptorLink(path) == nil, pathKind(replacementTarget(path)) == .regular,
      let file = fileIdentity(path)
    else { return nil }
    return socketName(hashing: "\(file[0]):\(file[1])")
  }

  /// "\0trellis-output-" and the SHA-256 of `key` in 64 hex digits (a NUL first puts the name
  /// in the abstract namespace, outside the file system).
  private static func socketName(hashing key: String) -> String {
    var digest = SHA256()
    digest.update(Array(key.utf8))
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
    // Bound, never listening: a holder that listened without accepting queued a refused
    // run's connection (made to ask its process ID), and after two, a third run's connect
    // waited until the holder ended.
    guard withAddress(name, { bind(descriptor, $0, $1) }) == 0 else {
      let failure = errno
      close(descriptor)
      guard failure == EADDRINUSE else { return }
      let holder = holdingProcess(of: name).map { "process \($0)" } ?? "another process"
      throw TrellisError(
        file: path, "is being written by \(holder); wait for it to end, or write another file")
    }
    held[name] = (descriptor, 1)
  }

  /// The process holding the socket `name`, found by the socket's inode (/proc/net/unix) among
  /// the descriptors of the processes this one may see (/proc/PID/fd); nil when it is not
  /// among them (another user's, another PID namespace's).
  private static func holdingProcess(of name: String) -> Int? {
    let listed = "@" + name.dropFirst()
    guard let table = FileHandle(forReadingAtPath: "/proc/net/unix") else { return nil }
    defer { try? table.close() }
    guard let bytes = try? table.readToEnd(),
      let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        .first(where: { $0.hasSuffix(" " + listed) }),
      let inode = line.split(separator: " ").dropFirst(6).first
    else { return nil }
    let socket = "socket:[\(inode)]"
    let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return processes.compactMap(Int.init).first { pid in
      let descriptors = "/proc/\(pid)/fd"
      let entries = (try? FileManager.default.contentsOfDirectory(atPath: descriptors)) ?? []
      return entries.contains {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: descriptors + "/" + $0))
          == socket
      }
    }
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
