package app.veil.sample

import android.content.Intent
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.net.Uri
import android.os.Bundle
import android.widget.Button
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.TextView
import androidx.appcompat.app.AlertDialog
import androidx.appcompat.app.AppCompatActivity
import androidx.lifecycle.lifecycleScope
import app.veil.Veil
import app.veil.ffi.BlurredPreview
import app.veil.ffi.Channel
import app.veil.ffi.VeilException
import app.veil.scanContext
import app.veil.shouldBlur
import java.io.File
import java.nio.ByteBuffer
import kotlinx.coroutines.launch

/** Scans an image shared to the app and shows it, or its blurred preview behind a confirmation. */
class MainActivity : AppCompatActivity() {
    private lateinit var image: ImageView
    private lateinit var status: TextView
    private lateinit var viewAnyway: Button

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        image = ImageView(this).apply { adjustViewBounds = true }
        status = TextView(this)
        viewAnyway = Button(this).apply { text = "View anyway"; isEnabled = false }
        setContentView(LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            addView(status); addView(viewAnyway); addView(image)
        })
        Veil.setLogLevel(app.veil.ffi.LogLevel.INFO)
        val uri = intent?.takeIf { it.action == Intent.ACTION_SEND }
            ?.getParcelableExtra(Intent.EXTRA_STREAM, Uri::class.java)
        if (uri == null) {
            status.text = "Share an image to this app to scan it."
            return
        }
        lifecycleScope.launch { scan(uri) }
    }

    private suspend fun scan(uri: Uri) {
        status.text = "Scanning…"
        val bytes = contentResolver.openInputStream(uri)?.use { it.readBytes() } ?: return
        try {
            // One Veil per app in real code (an Application-scoped singleton); the model loads once.
            val veil = Veil.load(modelFile().path)
            val result = veil.scan(bytes, scanContext(Channel.NearbyShare))
            val preview = result.preview
            if (result.shouldBlur && preview != null) {
                status.text = "This image may be explicit. It has been blurred."
                image.setImageBitmap(preview.toBitmap())
                viewAnyway.isEnabled = true
                viewAnyway.setOnClickListener { confirmThenShow(bytes) }
            } else {
                status.text = "Image"
                image.setImageBitmap(BitmapFactory.decodeByteArray(bytes, 0, bytes.size))
            }
        } catch (e: VeilException) {
            status.text = "Could not scan this image: ${e.message}"
        }
    }

    private fun confirmThenShow(bytes: ByteArray) {
        AlertDialog.Builder(this)
            .setTitle("View this image?")
            .setMessage("Veil thinks this image may be explicit.")
            .setNegativeButton("Keep hidden", null)
            .setPositiveButton("View") { _, _ ->
                image.setImageBitmap(BitmapFactory.decodeByteArray(bytes, 0, bytes.size))
                viewAnyway.isEnabled = false
            }
            .show()
    }

    /** The model asset, copied to a file once (the library maps it from a path). */
    private fun modelFile(): File = File(filesDir, "open-nsfw.onnx").also { file ->
        if (!file.exists()) assets.open("open-nsfw.onnx").use { input -> file.outputStream().use { input.copyTo(it) } }
    }
}

/** The preview's RGBA bytes as a Bitmap (ARGB_8888 is RGBA in memory). */
fun BlurredPreview.toBitmap(): Bitmap =
    Bitmap.createBitmap(width.toInt(), height.toInt(), Bitmap.Config.ARGB_8888).apply {
        copyPixelsFromBuffer(ByteBuffer.wrap(rgba))
    }
