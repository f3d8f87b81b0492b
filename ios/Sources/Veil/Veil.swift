import Foundation
@_exported import VeilFFI

/// Veil's Swift SDK: an on-device filter for images arriving on the phone.
///
/// Holds one `VeilFilter` (the model, loaded once, the policy and optionally the evidence
/// vault). Every scan and vault call is `async` and runs on a detached task, off the main actor,
/// so it never blocks the UI. One instance may serve many tasks at once: it is `Sendable`.
/// Failures are thrown as `VeilError` (`.Truncated(message:)`, `.WrongKey(message:)`, ...).
///
/// A scan that has started is not interrupted by cancellation: its result is dropped when it
/// finishes.
public final class Veil: Sendable {
    /// The generated object, for anything this layer does not wrap.
    public let filter: VeilFilter
    private let priority: TaskPriority

    /// The recommended settings at `sensitivity`.
    public static func settings(_ sensitivity: Sensitivity = .balanced) -> FilterSettings {
        FilterSettings(sensitivity: sensitivity)
    }

    /// Wraps an existing filter.
    public init(filter: VeilFilter, priority: TaskPriority = .userInitiated) {
        self.filter = filter
        self.priority = priority
    }

    /// Loads the model at `modelPath` (the `open-nsfw.onnx` weights, or a manifest `.json`) off
    /// the main actor. Filters built from the same file share one loaded model.
    public static func load(
        modelPath: String,
        settings: FilterSettings = Veil.settings(),
        priority: TaskPriority = .userInitiated
    ) async throws -> Veil {
        let filter = try await Task.detached(priority: priority) {
            try VeilFilter.fromModelPath(modelPath: modelPath, settings: settings)
        }.value
        return Veil(filter: filter, priority: priority)
    }

    /// Loads the model from its ONNX bytes (an app resource) off the main actor.
    public static func load(
        model: Data,
        settings: FilterSettings = Veil.settings(),
        priority: TaskPriority = .userInitiated
    ) async throws -> Veil {
        let filter = try await Task.detached(priority: priority) {
            try VeilFilter.fromModelBytes(model: model, settings: settings)
        }.value
        return Veil(filter: filter, priority: priority)
    }

    /// Sends Veil's log to the unified log (subsystem `Veil`) at `level` and above.
    public static func setLogLevel(_ level: LogLevel) throws {
        try VeilFFI.setLogLevel(level: level)
    }

    /// The arrival "now", with this device's current UTC offset.
    public static func arrivalNow() -> Arrival {
        let now = Date()
        return Arrival(
            receivedAtMs: Int64(now.timeIntervalSince1970 * 1000),
            utcOffsetMinutes: Int32(TimeZone.current.secondsFromGMT(for: now) / 60)
        )
    }

    private func off<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await Task.detached(priority: priority, operation: work).value
    }

    /// Scans encoded image bytes (JPEG, PNG, WebP, GIF, BMP, TIFF; pass HEIC as pixels).
    public func scan(_ data: Data, context: ScanContext, arrival: Arrival = Veil.arrivalNow()) async throws -> ScanResult {
        let filter = self.filter
        return try await off { try filter.scanBytes(bytes: data, context: context, arrival: arrival) }
    }

    /// Reads and scans an image file.
    public func scan(fileAt url: URL, context: ScanContext, arrival: Arrival = Veil.arrivalNow()) async throws -> ScanResult {
        let filter = self.filter
        return try await off { try filter.scanFile(path: url.path, context: context, arrival: arrival) }
    }

    /// Scans raw pixels (a `CGImage`'s data: `.bgra8` for the usual little-endian
    /// premultiplied-first layout). `bytesPerRow` is the row stride.
    public func scanPixels(
        _ data: Data,
        width: Int,
        height: Int,
        bytesPerRow: Int,
        format: PixelFormat = .bgra8,
        context: ScanContext,
        arrival: Arrival = Veil.arrivalNow()
    ) async throws -> ScanResult {
        guard width >= 0, height >= 0, bytesPerRow >= 0 else {
            throw VeilError.InvalidArgument(message: "negative geometry")
        }
        let pixels = RawPixels(
            data: data, width: UInt32(width), height: UInt32(height),
            rowStride: UInt32(bytesPerRow), format: format
        )
        let filter = self.filter
        return try await off { try filter.scanPixels(pixels: pixels, context: context, arrival: arrival) }
    }

    /// Facts about the loaded model.
    public func modelInfo() throws -> ModelInfo {
        try filter.modelInfo()
    }

    // MARK: Evidence vault

    /// Opens (or creates) the evidence vault at `url` with a 32-byte `key` from the Keychain.
    public func openVault(at url: URL, key: Data) async throws {
        let filter = self.filter
        try await off { try filter.openVault(path: url.path, key: key) }
    }

    /// Stops recording; the vault's file is kept.
    public func closeVault() async throws {
        let filter = self.filter
        try await off { try filter.closeVault() }
    }

    /// Whether an evidence vault is open.
    public func hasVault() throws -> Bool {
        try filter.hasVault()
    }

    /// Appends an event (viewed, reported, ...) to an incident.
    @discardableResult
    public func addEvent(incidentId: String, kind: EventKind, text: String? = nil) async throws -> Int64 {
        let filter = self.filter
        let offset = Veil.arrivalNow().utcOffsetMinutes
        return try await off { try filter.addEvent(incidentId: incidentId, kind: kind, utcOffsetMinutes: offset, text: text) }
    }

    /// Every incident held, oldest first.
    public func incidents() async throws -> [IncidentSummary] {
        let filter = self.filter
        return try await off { try filter.listIncidents() }
    }

    /// One incident in full.
    public func incident(id: String) async throws -> Incident {
        let filter = self.filter
        return try await off { try filter.getIncident(incidentId: id) }
    }

    /// The decrypted original of an incident (nil once deleted or purged).
    public func original(id: String) async throws -> Data? {
        let filter = self.filter
        return try await off { try filter.incidentOriginal(incidentId: id) }
    }

    /// Verifies the vault's hash chain and encrypted fields.
    public func verifyVault() async throws -> VerifyReport {
        let filter = self.filter
        return try await off { try filter.verifyVault() }
    }

    /// Writes a ZIP evidence bundle to `url`.
    public func exportVault(to url: URL, includeOriginals: Bool = false) async throws -> ExportSummary {
        let filter = self.filter
        return try await off { try filter.exportVault(outPath: url.path, includeOriginals: includeOriginals) }
    }

    /// Keeps incidents for `days` (nil: forever), then purges expired ones; returns how many.
    public func applyRetention(days: UInt32?) async throws -> UInt32 {
        let filter = self.filter
        return try await off {
            try filter.setRetentionDays(days: days)
            return try filter.purgeExpired(nowMs: nil)
        }
    }

    /// Purges one incident now.
    public func purge(id: String) async throws {
        let filter = self.filter
        try await off { try filter.purgeIncident(incidentId: id) }
    }

    /// Re-encrypts the vault under `newKey`.
    public func rotateKey(_ newKey: Data) async throws {
        let filter = self.filter
        try await off { try filter.rotateVaultKey(newKey: newKey) }
    }

    /// Deletes the vault's files; scanning goes on without a vault.
    public func wipeVault() async throws {
        let filter = self.filter
        try await off { try filter.wipeVault() }
    }
}

extension ScanContext {
    /// A context for an image on `channel` from `senderId` (nil: unknown sender).
    public static func from(_ channel: Channel, senderId: String? = nil, knownContact: Bool = false) -> ScanContext {
        ScanContext(channel: channel, sender: senderId.map { Sender(id: $0, knownContact: knownContact) })
    }
}

extension ScanResult {
    /// True when the app should show `preview` instead of the image.
    public var shouldBlur: Bool { verdict.action == .blur }
}

extension BlurredPreview {
    /// The preview encoded as PNG.
    public func png() throws -> Data { try encodePreviewPng(preview: self) }

    /// The preview encoded as JPEG at `quality` (1 to 100).
    public func jpeg(quality: UInt8 = 85) throws -> Data { try encodePreviewJpeg(preview: self, quality: quality) }
}
