package com.smartid.sdk.android

import com.smartid.sdk.Prompt

/**
 * The camera screen's default English texts, one per [Prompt]. Kept in code rather than Android
 * resources so the AAR needs no res/ processing; an app translates by replacing
 * [SmartIdCaptureActivity.promptText]. The `when` is exhaustive: a prompt added to the core fails this
 * file's compilation instead of showing nothing.
 */
internal object Prompts {
    fun english(prompt: Prompt): String = when (prompt) {
        Prompt.NO_FACE -> "Place your face in the oval"
        Prompt.SEVERAL_FACES -> "Only one face, please"
        Prompt.MOVE_CLOSER -> "Move closer"
        Prompt.MOVE_BACK -> "Move back a little"
        Prompt.CENTRE_FACE -> "Centre your face in the oval"
        Prompt.LOOK_STRAIGHT -> "Look straight at the screen"
        Prompt.OPEN_EYES -> "Keep your eyes open"
        Prompt.TOO_DARK -> "Find more light"
        Prompt.TOO_BRIGHT -> "Too bright: avoid direct light"
        Prompt.BLURRY -> "Hold the phone steady"
        Prompt.POOR_IMAGE -> "Move closer to the light and hold the phone steady"
        Prompt.HOLD_STILL -> "Hold still"
        Prompt.BLINK -> "Blink"
        Prompt.TURN_LEFT -> "Turn your head to the left"
        Prompt.TURN_RIGHT -> "Turn your head to the right"
        Prompt.LOOK_UP -> "Look up"
        Prompt.SMILE -> "Smile"
        Prompt.DONE -> "Done"
        Prompt.FAILED -> "The capture did not succeed"
    }

    const val CANCEL = "Cancel"
}
