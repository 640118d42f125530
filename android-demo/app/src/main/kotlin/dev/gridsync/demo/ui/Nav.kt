package dev.gridsync.demo.ui

import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.List
import androidx.compose.material.icons.filled.Home
import androidx.compose.material.icons.filled.Settings
import androidx.compose.material3.Icon
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.vector.ImageVector
import androidx.compose.ui.res.stringResource
import androidx.navigation.NavGraph.Companion.findStartDestination
import androidx.navigation.NavHostController
import androidx.navigation.NavType
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.currentBackStackEntryAsState
import androidx.navigation.compose.rememberNavController
import androidx.navigation.navArgument
import dev.gridsync.demo.AppGraph
import dev.gridsync.demo.R

private data class Tab(val route: String, val label: Int, val icon: ImageVector)

private val tabs = listOf(
    Tab("due", R.string.nav_visits, Icons.Filled.Home),
    Tab("cases", R.string.nav_cases, Icons.AutoMirrored.Filled.List),
    Tab("settings", R.string.nav_settings, Icons.Filled.Settings),
)

/** The app: sync bar on top, three tabs, and the screens. */
@Composable
fun GridsyncNav(graph: AppGraph) {
    val nav = rememberNavController()
    val syncBar by graph.syncBar.collectAsState()
    val entry by nav.currentBackStackEntryAsState()
    Scaffold(
        topBar = { SyncBar(syncBar) { nav.switchTo("settings") } },
        bottomBar = {
            NavigationBar {
                for (t in tabs) {
                    NavigationBarItem(
                        selected = entry?.destination?.route == t.route,
                        onClick = { nav.switchTo(t.route) },
                        icon = { Icon(t.icon, contentDescription = null) },
                        label = { Text(stringResource(t.label)) },
                    )
                }
            }
        },
    ) { padding ->
        NavHost(nav, startDestination = "due", modifier = Modifier.padding(padding)) {
            composable("due") {
                DueVisitsScreen(graph, onOpen = { nav.navigate("household/$it") })
            }
            composable("household/{id}", listOf(navArgument("id") { type = NavType.StringType })) { e ->
                val id = e.arguments?.getString("id").orEmpty()
                HouseholdScreen(
                    graph, id,
                    onBack = { nav.popBackStack() },
                    onLogVisit = { nav.navigate("visit/$id") },
                    onReportCase = { nav.navigate("report?household=$id") },
                )
            }
            composable("visit/{household}", listOf(navArgument("household") { type = NavType.StringType })) { e ->
                VisitFormScreen(graph, e.arguments?.getString("household").orEmpty(), onDone = { nav.popBackStack() })
            }
            composable(
                "report?household={household}",
                listOf(navArgument("household") { type = NavType.StringType; nullable = true; defaultValue = null }),
            ) { e ->
                CaseReportScreen(
                    graph, e.arguments?.getString("household"),
                    onBack = { nav.popBackStack() },
                    onReported = { id -> nav.popBackStack(); nav.navigate("case/$id") },
                )
            }
            composable("cases") {
                CaseListScreen(graph, onOpen = { nav.navigate("case/$it") }, onReport = { nav.navigate("report") })
            }
            composable("case/{id}", listOf(navArgument("id") { type = NavType.StringType })) { e ->
                CaseDetailScreen(graph, e.arguments?.getString("id").orEmpty(), onBack = { nav.popBackStack() })
            }
            composable("settings") {
                SettingsScreen(graph)
            }
        }
    }
}

/** Bottom-bar navigation: one copy of each tab, state kept. */
private fun NavHostController.switchTo(route: String) = navigate(route) {
    popUpTo(graph.findStartDestination().id) { saveState = true }
    launchSingleTop = true
    restoreState = true
}
