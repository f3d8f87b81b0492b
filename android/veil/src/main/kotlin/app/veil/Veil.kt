package app.veil

import app.veil.ffi.Arrival
import app.veil.ffi.BlurredPreview
import app.veil.ffi.Channel
import app.veil.ffi.EventKind
import app.veil.ffi.ExportSummary
import app.veil.ffi.FilterSettings
import app.veil.ffi.Incident
import app.veil.ffi.IncidentSummary
import app.veil.ffi.LogLevel
import app.veil.ffi.ModelInfo
import app.veil.ffi.PixelFormat
import app.veil.ffi.RawPixels
import app.veil.ffi.ScanContext
import app.veil.ffi.ScanResult
import app.veil.ffi.Sender
import app.veil.ffi.Sensitivity
import app.veil.ffi.VeilFilter
import app.veil.ffi.VerifyReport
import app.veil.ffi.encodePreviewJpeg
import app.veil.ffi.encodePreviewPng
import java.io.File
import java.util.TimeZone
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Veil's Kotlin SDK: an on-device filter for images arriving on the phone.
 *
 * Holds one [VeilFilter] (the model, loaded once, the policy and optionally the evidence vault).
 * Every scan and vault call is a `suspend` function that runs on [dispatcher]
 * ([Dispatchers.Default] unless given), never on the caller's thread, so it is safe to call from
 * the main thread. One instance may serve many coroutines at once. It is [AutoCloseable]:
 * `Veil.fromModelPath(path).use { veil -> ... }`; after [close] every call fails with
 * `IllegalStateException`. Failures are thrown as [app.veil.ffi.VeilException] subclasses.
 *
 * A scan that has started is not interrupted by cancellation: its result is dropped when it
 * finishes.
 */
class Veil private constructor(
    /** The generated object, for anything this layer does not wrap. */
    val filter: VeilFilter,
    private val dispatcher: CoroutineDispatcher,
) : AutoCloseable {

    companion object {
        /** The recommended settings at [sensitivity]. */
        @JvmStatic
        @JvmOverloads
        fun settings(sensitivity: Sensitivity = Sensitivity.Balanced): FilterSettings =
            FilterSettings(sensitivity)

        /**
         * Loads the model at [modelPath] (the `open-nsfw.onnx` weights, or a manifest `.json`).
         * Blocking: loading takes about a second, call it off the main thread (or use
         * [load]).
         */
        @JvmStatic
        @JvmOverloads
        fun fromModelPath(
            modelPath: String,
            settings: FilterSettings = settings(),
            dispatcher: CoroutineDispatcher = Dispatchers.Default,
        ): Veil = Veil(VeilFilter.fromModelPath(modelPath, settings), dispatcher)

        /** Loads the model from its ONNX bytes (an app asset). Blocking, like [fromModelPath]. */
        @JvmStatic
        @JvmOverloads
        fun fromModelBytes(
            model: ByteArray,
            settings: FilterSettings = settings(),
            dispatcher: CoroutineDispatcher = Dispatchers.Default,
        ): Veil = Veil(VeilFilter.fromModelBytes(model, settings), dispatcher)

        /** Loads the model at [modelPath] on [dispatcher]. */
        suspend fun load(
            modelPath: String,
            settings: FilterSettings = settings(),
            dispatcher: CoroutineDispatcher = Dispatchers.Default,
        ): Veil = withContext(dispatcher) { fromModelPath(modelPath, settings, dispatcher) }

        /** Sends Veil's log to logcat (tag `Veil`) at [level] and above. */
        @JvmStatic
        fun setLogLevel(level: LogLevel) = app.veil.ffi.setLogLevel(level)

        /** The arrival "now", with this device's current UTC offset. */
        @JvmStatic
        fun arrivalNow(): Arrival {
            val now = System.currentTimeMillis()
            return Arrival(now, TimeZone.getDefault().getOffset(now) / 60_000)
        }
    }

    private suspend fun <T> off(block: () -> T): T = withContext(dispatcher) { block() }

    /** Scans encoded image bytes (JPEG, PNG, WebP, GIF, BMP, TIFF). */
    suspend fun scan(
        bytes: ByteArray,
        context: ScanContext,
        arrival: Arrival = arrivalNow(),
    ): ScanResult = off { filter.scanBytes(bytes, context, arrival) }

    /** Reads and scans an image file. */
    suspend fun scan(
        file: File,
        context: ScanContext,
        arrival: Arrival = arrivalNow(),
    ): ScanResult = off { filter.scanFile(file.path, context, arrival) }

    /**
     * Scans raw pixels (a decoded HEIC photo, an `ARGB_8888` Bitmap's buffer). [rowStride] is
     * the bytes from one row to the next (`Bitmap.getRowBytes()`).
     */
    suspend fun scanPixels(
        data: ByteArray,
        width: Int,
        height: Int,
        context: ScanContext,
        format: PixelFormat = PixelFormat.RGBA8,
        rowStride: Int = width * (if (format == PixelFormat.RGB8) 3 else 4),
        arrival: Arrival = arrivalNow(),
    ): ScanResult {
        require(width >= 0 && height >= 0 && rowStride >= 0) { "negative geometry" }
        val pixels = RawPixels(data, width.toUInt(), height.toUInt(), rowStride.toUInt(), format)
        return off { filter.scanPixels(pixels, context, arrival) }
    }

    /** Facts about the loaded model. */
    val modelInfo: ModelInfo get() = filter.modelInfo()

    // --- Evidence vault ---------------------------------------------------------------

    /** Opens (or creates) the evidence vault at [file] with a 32-byte [key] from the Keystore. */
    suspend fun openVault(file: File, key: ByteArray) = off { filter.openVault(file.path, key) }

    /** Stops recording; the vault's file is kept. */
    suspend fun closeVault() = off { filter.closeVault() }

    /** Whether an evidence vault is open. */
    val hasVault: Boolean get() = filter.hasVault()

    /** Appends an event (viewed, reported, ...) to an incident. */
    suspend fun addEvent(incidentId: String, kind: EventKind, text: String? = null): Long = off {
        filter.addEvent(incidentId, kind, arrivalNow().utcOffsetMinutes, text)
    }

    /** Every incident held, oldest first. */
    suspend fun incidents(): List<IncidentSummary> = off { filter.listIncidents() }

    /** One incident in full. */
    suspend fun incident(id: String): Incident = off { filter.getIncident(id) }

    /** The decrypted original of an incident (null once deleted or purged). */
    suspend fun original(id: String): ByteArray? = off { filter.incidentOriginal(id) }

    /** Verifies the vault's hash chain and encrypted fields. */
    suspend fun verifyVault(): VerifyReport = off { filter.verifyVault() }

    /** Writes a ZIP evidence bundle to [out]. */
    suspend fun exportVault(out: File, includeOriginals: Boolean = false): ExportSummary =
        off { filter.exportVault(out.path, includeOriginals) }

    /** Keeps incidents for [days] (null: forever), then purges expired ones; returns how many. */
    suspend fun applyRetention(days: Int?): Int = off {
        filter.setRetentionDays(days?.toUInt())
        filter.purgeExpired(null).toInt()
    }

    /** Purges one incident now. */
    suspend fun purge(id: String) = off { filter.purgeIncident(id) }

    /** Re-encrypts the vault under [newKey]. */
    suspend fun rotateKey(newKey: ByteArray) = off { filter.rotateVaultKey(newKey) }

    /** Deletes the vault's files; scanning goes on without a vault. */
    suspend fun wipeVault() = off { filter.wipeVault() }

    /** Frees the native filter (the model is freed when no other filter uses it). */
    override fun close() = filter.close()
}

/** A context for an image on [channel] from [senderId] (null: unknown sender). */
fun scanContext(channel: Channel, senderId: String? = null, knownContact: Boolean = false) =
    ScanContext(channel, senderId?.let { Sender(it, knownContact) })

/** True when the app should show [ScanResult.preview] instead of the image. */
val ScanResult.shouldBlur: Boolean get() = verdict.action == app.veil.ffi.Action.BLUR

/** The preview encoded as PNG. */
fun BlurredPreview.toPng(): ByteArray = encodePreviewPng(this)

/** The preview encoded as JPEG at [quality] (1 to 100). */
fun BlurredPreview.toJpeg(quality: Int = 85): ByteArray =
    encodePreviewJpeg(this, quality.coerceIn(1, 100).toUByte())
