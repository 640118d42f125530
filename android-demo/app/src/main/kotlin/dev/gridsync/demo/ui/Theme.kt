package dev.gridsync.demo.ui

import androidx.compose.foundation.isSystemInDarkTheme
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.darkColorScheme
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.ui.graphics.Color
import uniffi.gridsync_ffi.Tier

/** The tier colours of the "three kinds of household". */
fun Tier.color(): Color = when (this) {
    Tier.RED -> Color(0xFFD32F2F)
    Tier.YELLOW -> Color(0xFFF9A825)
    Tier.GREEN -> Color(0xFF388E3C)
}

val OverdueColor = Color(0xFFC62828)
val OnlineColor = Color(0xFF2E7D32)
val OfflineColor = Color(0xFF757575)

@Composable
fun GridsyncTheme(content: @Composable () -> Unit) {
    val colors = if (isSystemInDarkTheme()) {
        darkColorScheme(primary = Color(0xFF90CAF9), secondary = Color(0xFFFFCC80))
    } else {
        lightColorScheme(primary = Color(0xFF1565C0), secondary = Color(0xFFEF6C00))
    }
    MaterialTheme(colorScheme = colors, content = content)
}
