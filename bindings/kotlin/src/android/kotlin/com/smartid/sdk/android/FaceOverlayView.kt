package com.smartid.sdk.android

import android.content.Context
import android.graphics.Canvas
import android.graphics.Paint
import android.graphics.Path
import android.graphics.RectF
import android.view.View
import com.smartid.sdk.Step

/**
 * The face oval over the preview: everything outside it dimmed, its outline coloured by the capture's
 * [Step] (white while positioning, amber during a challenge, blue while capturing, green when done,
 * red on failure). Drawn with Canvas, so the AAR ships no drawable resources.
 *
 * The oval sits centred, a little above the middle (the prompt panel takes the bottom), at a face's
 * proportions; it is where the user is asked to put their face, not a tracking box.
 */
internal class FaceOverlayView(context: Context) : View(context) {
    var step: Step = Step.POSITIONING
        set(value) {
            if (field != value) {
                field = value
                ring.color = colourOf(value)
                invalidate()
            }
        }

    private val density = resources.displayMetrics.density
    private val oval = RectF()
    private val dimmed = Path()
    private val dim = Paint(Paint.ANTI_ALIAS_FLAG).apply {
        style = Paint.Style.FILL
        color = DIM
    }
    private val ring = Paint(Paint.ANTI_ALIAS_FLAG).apply {
        style = Paint.Style.STROKE
        strokeWidth = 4f * density
        color = colourOf(Step.POSITIONING)
    }

    init {
        // Decorative: the prompt text carries the information for accessibility services.
        importantForAccessibility = IMPORTANT_FOR_ACCESSIBILITY_NO
    }

    override fun onSizeChanged(w: Int, h: Int, oldw: Int, oldh: Int) {
        super.onSizeChanged(w, h, oldw, oldh)
        val width = minOf(w * 0.72f, h * 0.55f / FACE_ASPECT)
        val height = width * FACE_ASPECT
        val cx = w / 2f
        val cy = (h * 0.42f).coerceAtLeast(height / 2f + 8f * density)
        oval.set(cx - width / 2f, cy - height / 2f, cx + width / 2f, cy + height / 2f)
        dimmed.reset()
        dimmed.fillType = Path.FillType.EVEN_ODD
        dimmed.addRect(0f, 0f, w.toFloat(), h.toFloat(), Path.Direction.CW)
        dimmed.addOval(oval, Path.Direction.CW)
    }

    override fun onDraw(canvas: Canvas) {
        super.onDraw(canvas)
        canvas.drawPath(dimmed, dim)
        canvas.drawOval(oval, ring)
    }

    private companion object {
        /** Height over width of the oval. */
        const val FACE_ASPECT = 1.3f
        const val DIM = 0xB3000000.toInt()

        fun colourOf(step: Step): Int = when (step) {
            Step.POSITIONING -> 0xFFFFFFFF.toInt()
            Step.CHALLENGE -> 0xFFFFB300.toInt()
            Step.CAPTURING -> 0xFF29B6F6.toInt()
            Step.DONE -> 0xFF43A047.toInt()
            Step.FAILED -> 0xFFE53935.toInt()
        }
    }
}
