import Hummingbird
import NIOCore
import NIOHTTPTypes
import Trellis

/// Asks for request bodies as HTTP/1.1 has it, and closes a connection whose client keeps the
/// server waiting: the idle timeout and the body timeout.
///
/// Both clocks count only the time the server waits for the client: a read asked of the socket
/// and nothing come, while no request of the connection is being answered (or, for the body
/// being read, no request before it). Hummingbird's own idle timeout counted the time since the
/// last piece of a request arrived, so a server too busy to read what had arrived (the async
/// channel's back-pressure stops reading) closed connections whose clients had sent everything,
/// and it restarted at every piece of a body, so a client that trickled one held its connection,
/// and one of `--max-connections`' slots, for as long as it liked.
/// - The idle timeout: no piece of a request (the headers, a piece of the body) for `idle`. The
///   parser passes the headers on only when they are complete, so a client that trickles them
///   meets it too.
/// - The body timeout: a body must arrive within `body`. Past either, a client whose request's
///   answer has not begun gets 408; then the connection is closed.
/// - `Expect: 100-continue`: the client waits for `100 Continue` before it sends the body (some
///   clients, aiohttp among them, forever; curl for a second). It is sent as soon as no earlier
///   answer is being written on the connection, unless Content-Length is over `maxBodyBytes`:
///   then the body is refused unsent, and the 413 closes the connection (its client may never
///   send what it was not asked for, and the bytes after its headers could not be read as the
///   next request). Any answer given while a body that may run past the limit is still
///   arriving (a refusal; a Content-Length over the limit, or a chunked body) closes the
///   connection too, after reading past the rest for up to `drainLimit`.
/// - The answer to a CONNECT, or to a request asking for a protocol Upgrade, closes the
///   connection: the HTTP parser reads whatever follows one as another protocol, never as
///   requests. So does the answer to a request that says `Connection: close`, which says so
///   too (RFC 9112 §9.6): Hummingbird answered it without, closed only its output and waited
///   for the client to close the rest, for as long as the client kept it open. On a graceful
///   shutdown the last answer of each connection says `Connection: close` and closes it, so
///   its client knows to send no more there.
final class ClientPacing: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPRequestPart
  typealias InboundOut = HTTPRequestPart
  typealias OutboundIn = HTTPResponsePart
  typealias OutboundOut = HTTPResponsePart

  /// A request whose answer has not been written to its end.
  private struct Unanswered {
    /// Whether its client waits for `100 Continue` that has not been sent yet.
    var awaitsContinue: Bool
    /// Whether the connection closes after its answer.
    var closesAfterAnswer: Bool
    /// Whether its client sends its body even when answered first, so that closing reads the
    /// rest of it (all but a too-large body refused before `100 Continue`).
    var sendsBodyRegardless: Bool
    /// Whether its body may run past `maxBodyBytes`: its Content-Length says so, or it is
    /// chunked, of no length said.
    var mayExceedLimit: Bool
  }

  private let idleTimeout: TimeAmount
  private let bodyTimeout: TimeAmount
  private let maxBodyBytes: Int
  /// The requests read and not answered in full, oldest first.
  private var unanswered: [Unanswered] = []
  /// Whether the last request's headers have arrived and its body's end has not.
  private var isBodyPending = false
  /// Answers whose end has been queued and not yet written to the socket: the client is still
  /// taking them, which is not a wait for it.
  private var endsInFlight = 0
  /// Whether an answer's head has been written and its end not yet.
  private var isAnswering = false
  /// Whether a read has been asked of the socket and nothing has come yet; a new connection
  /// waits for its first request.
  private var isReadPending = true
  /// The time waited since the last piece of a request, and since the pending body's headers,
  /// both before `waitingSince`.
  private var waitedSincePiece = TimeAmount.zero
  private var waitedForBody = TimeAmount.zero
  /// When the present wait began, if the server is waiting for the client now.
  private var waitingSince: NIODeadline?
  /// The check scheduled for when the waits could reach a timeout, and when it runs. It stays
  /// scheduled while the clocks stop and start, as every read does several times a request,
  /// rather than a task cancelled and scheduled again each time; a check that finds time left
  /// schedules the next.
  private var deadline: (task: Scheduled<Void>, at: NIODeadline)?
  /// Whether the connection is being closed: later writes of an answer are dropped.
  private var isClosing = false
  /// Whether the server is shutting down gracefully: it answers the requests it has and closes.
  private var isQuiescing = false
  /// Whether the connection, answered and closing, reads and drops the rest of a body
  /// (`drain`), and the close asked for meanwhile, with its promise.
  private var isDraining = false
  private var closeAfterDraining: EventLoopPromise<Void>?
  /// The longest a closing connection reads the rest of a body before it closes anyway.
  static let drainLimit = TimeAmount.seconds(2)

  init(idleTimeout: TimeAmount, bodyTimeout: TimeAmount, maxBodyBytes: Int) {
    self.idleTimeout = idleTimeout
    self.bodyTimeout = bodyTimeout
    self.maxBodyBytes = maxBodyBytes
  }

  func channelActive(context: ChannelHandlerContext) {
    updateClock(context: context)
    context.fireChannelActive()
  }

  func handlerAdded(context: ChannelHandlerContext) {
    if context.channel.isActive { updateClock(context: context) }
    // Hummingbird adds a server's handlers after the HTTP/1 heads are converted; the rules
    // that need them read them before.
    HTTP1HeadRules.install(in: context)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    guard !isDraining else {
      if case .end = unwrapInboundIn(data) { finishDraining(context: context) }
      return
    }
    stopClock(context: context)
    waitedSincePiece = .zero
    switch unwrapInboundIn(data) {
    case .head(let request):
      let fields = request.headerFields
      let expectsContinue =
        fields[.expect]?.trimmingCharacters(in: .whitespaces).lowercased() == "100-continue"
      let isTooLarge = declaresBodyOver(maxBodyBytes, fields)
      let asksToClose = fields[values: .connection].contains {
        $0.split(separator: ",").contains {
          $0.trimmingCharacters(in: .whitespaces).lowercased() == "close"
        }
      }
      unanswered.append(
        Unanswered(
          awaitsContinue: expectsContinue && !isTooLarge,
          closesAfterAnswer: request.method == .connect || fields[.upgrade] != nil
            || asksToClose || (expectsContinue && isTooLarge),
          sendsBodyRegardless: !(expectsContinue && isTooLarge),
          mayExceedLimit: isTooLarge || fields[.transferEncoding] != nil))
      isBodyPending = true
      waitedForBody = .zero
      sendContinueIfDue(context: context)
    case .body: break
    case .end:
      isBodyPending = false
      if !unanswered.isEmpty { unanswered[unanswered.count - 1].awaitsContinue = false }
    }
    context.fireChannelRead(data)
    updateClock(context: context)
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    guard !isDraining else { return context.read() }
    isReadPending = false
    updateClock(context: context)
    context.fireChannelReadComplete()
  }

  func read(context: ChannelHandlerContext) {
    guard !isClosing else { return }  // nothing read now would be answered
    isReadPending = true
    updateClock(context: context)
    context.read()
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    guard !isClosing && !isDraining else {
      promise?.fail(ChannelError.ioOnClosedChannel)
      return
    }
    switch unwrapOutboundIn(data) {
    case .head(var response) where response.status.kind != .informational:
      isAnswering = true
      if isQuiescing && unanswered.count == 1 { unanswered[0].closesAfterAnswer = true }
      // An answer before the end of a body that may run past the limit (a refusal: 413, and
      // 404, 405, 415 or 501, given before the body is read): kept open, the connection read
      // the refused body for as long as it came (10 GB in 12 s, of a Content-Length of 3 GB
      // to a path that is not there), up to the body timeout; now `drain` bounds that. A
      // body within the limit is read to its end, so that a slow client sending it whole
      // before reading gets its answer.
      if isBodyPending && unanswered.count == 1 && unanswered[0].mayExceedLimit {
        unanswered[0].closesAfterAnswer = true
      }
      if unanswered.first?.closesAfterAnswer == true {
        response.headerFields[.connection] = "close"
        return context.write(wrapOutboundOut(.head(response)), promise: promise)
      }
    case .end:
      isAnswering = false
      let written = promise ?? context.eventLoop.makePromise()
      endsInFlight += 1
      written.futureResult.whenComplete { [weak self] _ in
        guard let self else { return }
        endsInFlight -= 1
        // The idle timeout counts from the last answer's end reaching the socket.
        if unanswered.isEmpty && endsInFlight == 0 { waitedSincePiece = .zero }
        updateClock(context: context)
      }
      context.write(data, promise: written)
      guard !unanswered.isEmpty else { return }
      let answered = unanswered.removeFirst()
      if answered.closesAfterAnswer {
        stopClock(context: context)
        if isBodyPending && answered.sendsBodyRegardless {
          drain(context: context, after: written.futureResult)
        } else {
          isClosing = true
          context.close(promise: nil)
        }
      } else {
        sendContinueIfDue(context: context)
        updateClock(context: context)
      }
      return
    default: break
    }
    context.write(data, promise: promise)
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if event is ChannelShouldQuiesceEvent { isQuiescing = true }
    context.fireUserInboundEventTriggered(event)
  }

  func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
    guard isDraining, mode == .all else { return context.close(mode: mode, promise: promise) }
    // One close when draining ends, which every close asked for meanwhile follows.
    let pending = closeAfterDraining ?? context.eventLoop.makePromise()
    closeAfterDraining = pending
    if let promise { pending.futureResult.cascade(to: promise) }
  }

  /// Closes the connection after its answer has gone and the rest of the request's body has
  /// been read and dropped, or `drainLimit` has passed: closed with a body unread, the socket
  /// answered the client's next bytes with a reset, and a client still sending (Python's
  /// urllib sends every byte before it reads) got `ConnectionResetError` instead of the 413.
  private func drain(context: ChannelHandlerContext, after written: EventLoopFuture<Void>) {
    isDraining = true
    written.whenComplete { _ in context.close(mode: .output, promise: nil) }
    context.eventLoop.scheduleTask(in: Self.drainLimit) { [weak self] in
      self?.finishDraining(context: context)
    }
    context.read()
  }

  private func finishDraining(context: ChannelHandlerContext) {
    guard isDraining else { return }
    isDraining = false
    isClosing = true
    context.close(promise: closeAfterDraining)
    closeAfterDraining = nil
  }

  func channelInactive(context: ChannelHandlerContext) {
    isDraining = false
    closeAfterDraining?.succeed()
    closeAfterDraining = nil
    isClosing = true  // and no clock may start again
    deadline?.task.cancel()
    deadline = nil
    context.fireChannelInactive()
  }

  /// Sends `100 Continue` when the request waiting for it is the only one unanswered, so that
  /// it never falls inside an earlier answer.
  private func sendContinueIfDue(context: ChannelHandlerContext) {
    guard unanswered.count == 1, unanswered[0].awaitsContinue, isBodyPending, !isClosing else {
      return
    }
    unanswered[0].awaitsContinue = false
    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
  }

  /// Whether the server waits for the client: a read is pending, and nothing is being answered
  /// or written but, when a body is arriving, its own request (or its answer came early, and
  /// the rest of the body is being read past).
  private var isWaitingForClient: Bool {
    guard isReadPending, !isClosing else { return false }
    return isBodyPending ? unanswered.count <= 1 : unanswered.isEmpty && endsInFlight == 0
  }

  /// Starts or stops the clocks as `isWaitingForClient` says; a started clock makes sure a
  /// check is scheduled no later than the nearer timeout.
  private func updateClock(context: ChannelHandlerContext) {
    guard isWaitingForClient else { return stopClock(context: context) }
    guard waitingSince == nil else { return }
    let now = context.eventLoop.now
    waitingSince = now
    let due = now + timeLeft(now: now)
    guard deadline.map({ $0.at > due }) ?? true else { return }
    scheduleCheck(context: context, at: due)
  }

  private func stopClock(context: ChannelHandlerContext) {
    guard let since = waitingSince else { return }
    let waited = context.eventLoop.now - since
    waitedSincePiece = waitedSincePiece + waited
    if isBodyPending { waitedForBody = waitedForBody + waited }
    waitingSince = nil
  }

  /// The time until the nearer timeout, the present wait counted.
  private func timeLeft(now: NIODeadline) -> TimeAmount {
    let waiting = waitingSince.map { now - $0 } ?? .zero
    let idleLeft = idleTimeout - waitedSincePiece - waiting
    return isBodyPending ? min(idleLeft, bodyTimeout - waitedForBody - waiting) : idleLeft
  }

  /// Times out when the waits have reached a timeout; else schedules the next check, or none
  /// while the clocks are stopped (starting them schedules one).
  private func check(context: ChannelHandlerContext) {
    deadline = nil
    guard waitingSince != nil else { return }
    let now = context.eventLoop.now
    let left = timeLeft(now: now)
    guard left > .zero else { return timeOut(context: context) }
    scheduleCheck(context: context, at: now + left)
  }

  private func scheduleCheck(context: ChannelHandlerContext, at due: NIODeadline) {
    deadline?.task.cancel()
    let task = context.eventLoop.scheduleTask(deadline: due) { [weak self] () -> Void in
      self?.check(context: context)
    }
    deadline = (task, due)
  }

  /// Answers 408 to a request whose answer has not begun, and closes the connection.
  private func timeOut(context: ChannelHandlerContext) {
    waitingSince = nil
    if unanswered.count == 1 && !isAnswering {
      let message =
        "the request did not arrive in full within --idle-timeout-seconds "
        + "(\(idleTimeout.nanoseconds / 1_000_000_000)) of silence or "
        + "--body-timeout-seconds (\(bodyTimeout.nanoseconds / 1_000_000_000)) for its body"
      let body = ByteBuffer(string: "{\"error\":\(RawJSON.string(message))}\n")
      let head = HTTPResponse(
        status: .requestTimeout,
        headerFields: [
          .contentType: "application/json", .contentLength: "\(body.readableBytes)",
          .connection: "close",
        ])
      context.write(wrapOutboundOut(.head(head)), promise: nil)
      context.write(wrapOutboundOut(.body(body)), promise: nil)
      context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
    // The body's reader then fails with this error, not the end of input that the close
    // gives: that was answered 400 as a client's hang-up, and counted so in /metrics.
    if isBodyPending { context.fireErrorCaught(BodyNotReceived(reason: ChannelError.inputClosed)) }
    isClosing = true
    context.close(promise: nil)
  }
}
