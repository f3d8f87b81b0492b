package app.veil

import app.veil.ffi.Action
import app.veil.ffi.Channel
import app.veil.ffi.EventKind
import app.veil.ffi.ImageFormat
import app.veil.ffi.PixelFormat
import app.veil.ffi.Sensitivity
import app.veil.ffi.VeilException
import app.veil.ffi.VeilFilter
import java.awt.image.BufferedImage
import java.io.ByteArrayInputStream
import java.io.File
import java.nio.file.Files
import javax.imageio.ImageIO
import kotlin.test.assertContentEquals
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import kotlin.test.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/**
 * Drives the real host library (libveil_ffi.so, loaded by JNA from `jna.library.path`) with the
 * real open_nsfw model and the repository's fixtures, through the idiomatic layer and the
 * generated bindings.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VeilTest {
    private val modelPath = System.getProperty("veil.model") ?: System.getenv("VEIL_MODEL")
        ?: error("set -Dveil.model or VEIL_MODEL to open-nsfw.onnx")
    private val fixtures = File(System.getProperty("veil.fixtures") ?: "../fixtures")
    private lateinit var veil: Veil

    private fun fixture(rel: String): ByteArray = File(fixtures, rel).readBytes()

    private val stranger = scanContext(Channel.AirDrop, "iPhone")

    @BeforeAll
    fun load() {
        Veil.setLogLevel(app.veil.ffi.LogLevel.WARN)
        veil = runBlocking { Veil.load(modelPath) }
    }

    @AfterAll
    fun close() = veil.close()

    @Test
    fun `benign fixtures are allowed`() = runBlocking<Unit> {
        val names = File(fixtures, "benign").list()!!.sorted()
        assertTrue(names.size >= 10)
        for (name in names) {
            val result = veil.scan(fixture("benign/$name"), stranger)
            assertEquals(Action.ALLOW, result.verdict.action, name)
            assertFalse(result.shouldBlur)
            assertNull(result.preview, name)
            assertTrue(result.verdict.explicitScore < 0.1f, "$name ${result.verdict.explicitScore}")
        }
    }

    @Test
    fun `synthetic positives are blurred and the preview decodes`() = runBlocking<Unit> {
        for (name in listOf("a.jpg", "b.png", "c.jpg")) {
            val result = veil.scan(fixture("positive/abstract-field-$name"), stranger)
            assertEquals(Action.BLUR, result.verdict.action, name)
            assertTrue(result.verdict.explicitScore >= 0.9f)
            assertTrue(result.verdict.reason.contains("airdrop"), result.verdict.reason)
            val preview = assertNotNull(result.preview)
            assertEquals(preview.width.toInt() * preview.height.toInt() * 4, preview.rgba.size)
            val image: BufferedImage = ImageIO.read(ByteArrayInputStream(preview.toPng()))
            assertEquals(preview.width.toInt(), image.width)
            assertEquals(preview.height.toInt(), image.height)
            assertTrue(preview.width.toInt() <= 512 && preview.height.toInt() <= 512)
            assertNotNull(ImageIO.read(ByteArrayInputStream(preview.toJpeg(80))))
        }
    }

    @Test
    fun `files and raw pixels scan`() = runBlocking<Unit> {
        val file = veil.scan(File(fixtures, "positive/abstract-field-c.png"), stranger)
        assertEquals(Action.BLUR, file.verdict.action)
        assertEquals(ImageFormat.PNG, file.image.format)

        // A real photo decoded by the JVM and handed over as RGBA pixels, as from a Bitmap.
        val photo = ImageIO.read(File(fixtures, "benign/chelsea.png"))
        val rgba = ByteArray(photo.width * photo.height * 4)
        for (y in 0 until photo.height) for (x in 0 until photo.width) {
            val argb = photo.getRGB(x, y)
            val i = (y * photo.width + x) * 4
            rgba[i] = (argb shr 16).toByte(); rgba[i + 1] = (argb shr 8).toByte()
            rgba[i + 2] = argb.toByte(); rgba[i + 3] = (argb ushr 24).toByte()
        }
        val pixels = veil.scanPixels(rgba, photo.width, photo.height, stranger)
        assertEquals(Action.ALLOW, pixels.verdict.action)
        assertEquals(ImageFormat.PIXELS, pixels.image.format)
        assertEquals(photo.width, pixels.image.width.toInt())

        assertThrows<VeilException.InvalidPixelBuffer> {
            runBlocking { veil.scanPixels(ByteArray(10), 4, 4, stranger, PixelFormat.BGRA8) }
        }
    }

    @Test
    fun `corrupt images raise the right exception types`() = runBlocking<Unit> {
        val sms = scanContext(Channel.Sms)
        assertThrows<VeilException.Truncated> { runBlocking { veil.scan(fixture("bad/truncated.jpg"), sms) } }
        assertThrows<VeilException.TooLarge> {
            runBlocking { veil.scan(fixture("bad/bomb-100000x100000.png"), sms) }
        }
        val random = assertThrows<VeilException> { runBlocking { veil.scan(fixture("bad/random-bytes.jpg"), sms) } }
        assertTrue(random is VeilException.Corrupt || random is VeilException.UnsupportedFormat, "$random")
        val empty = assertThrows<VeilException> { runBlocking { veil.scan(fixture("bad/empty.jpg"), sms) } }
        assertTrue(empty.message!!.isNotBlank())
        assertThrows<VeilException.Io> { runBlocking { veil.scan(File("/nonexistent/x.jpg"), sms) } }
    }

    @Test
    fun `model problems raise at construction`() {
        assertThrows<VeilException.ModelNotFound> { Veil.fromModelPath("/nonexistent/open-nsfw.onnx") }
        assertThrows<VeilException.ModelChecksum> { Veil.fromModelBytes("not a model".toByteArray()) }
        assertThrows<VeilException.InvalidArgument> {
            Veil.fromModelPath(modelPath, Veil.settings(Sensitivity.Custom(1.5f)))
        }
        Veil.fromModelPath(modelPath, Veil.settings(Sensitivity.Strict)).use {
            assertEquals(Sensitivity.Strict, it.filter.sensitivity())
            assertEquals("open_nsfw", it.modelInfo.name)
        }
    }

    @Test
    fun `closed filters refuse calls`() {
        val closed = Veil.fromModelPath(modelPath)
        closed.close()
        assertThrows<IllegalStateException> { closed.modelInfo }
    }

    @Test
    fun `many coroutines scan at once`() = runBlocking<Unit> {
        val inputs = listOf(
            "benign/rocket.jpg" to Action.ALLOW,
            "positive/abstract-field-a.jpg" to Action.BLUR,
            "benign/coffee.webp" to Action.ALLOW,
            "positive/abstract-field-b.jpg" to Action.BLUR,
        )
        val jobs = (0 until 24).map { i ->
            val (name, expected) = inputs[i % inputs.size]
            val bytes = fixture(name)
            async { name to (veil.scan(bytes, stranger).verdict.action == expected) }
        }
        val results = jobs.awaitAll()
        assertEquals(24, results.size)
        results.forEach { (name, ok) -> assertTrue(ok, name) }
    }

    @Test
    fun `evidence is recorded, verified, exported and wiped`(@TempDir dir: File) = runBlocking<Unit> {
        val key = ByteArray(32) { 7 }
        val db = File(dir, "evidence.db")
        Veil.fromModelPath(modelPath).use { v ->
            assertThrows<VeilException.NoVault> { runBlocking { v.incidents() } }
            assertThrows<VeilException.InvalidKey> { runBlocking { v.openVault(db, ByteArray(5)) } }
            v.openVault(db, key)
            assertTrue(v.hasVault)

            val first = v.scan(fixture("positive/abstract-field-a.jpg"), stranger)
            val id = assertNotNull(first.incidentId)
            val again = v.scan(fixture("positive/abstract-field-a.jpg"), stranger)
            assertEquals(Action.BLUR, again.verdict.action)
            assertFalse(again.modelRan)
            assertEquals(id, again.matchedIncident)
            assertNull(v.scan(fixture("benign/rocket.jpg"), stranger).incidentId)

            v.addEvent(id, EventKind.REPORTED, "CRN 42")
            assertEquals(2, v.incidents().size)
            val incident = v.incident(id)
            assertEquals("iPhone", incident.summary.sender)
            assertNotNull(incident.previewPng)
            assertTrue(incident.events.any { it.kind == EventKind.REPORTED && it.text == "CRN 42" })
            assertContentEquals(fixture("positive/abstract-field-a.jpg"), v.original(id))
            assertThrows<VeilException.UnknownIncident> { runBlocking { v.incident("0".repeat(32)) } }

            val report = v.verifyVault()
            assertTrue(report.ok, report.problems.toString())
            assertTrue(report.checkedWithKey)

            val bundle = File(dir, "bundle.zip")
            assertEquals(2u, v.exportVault(bundle).incidents)
            assertTrue(app.veil.ffi.verifyBundle(bundle.path).ok)
            assertEquals(0, v.applyRetention(30))
            v.closeVault()
        }
        // The wrong key is refused and changes nothing; the right one opens.
        Veil.fromModelPath(modelPath).use { v ->
            assertThrows<VeilException.WrongKey> { runBlocking { v.openVault(db, ByteArray(32) { 8 }) } }
            v.openVault(db, key)
            assertTrue(v.verifyVault().ok)
            v.rotateKey(ByteArray(32) { 9 })
            v.wipeVault()
            assertFalse(v.hasVault)
            assertFalse(db.exists())
        }
        assertTrue(Files.notExists(db.toPath()))
    }

    @Test
    fun `the generated object works without the idiomatic layer`() {
        VeilFilter.fromModelPath(modelPath, Veil.settings()).use { f ->
            val r = f.scanBytes(fixture("benign/astronaut.jpg"), stranger, null)
            assertEquals(Action.ALLOW, r.verdict.action)
            assertTrue(r.modelRan)
        }
    }
}
