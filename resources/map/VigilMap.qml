// The map panel's face: Qt's own map with a marker for every feed that has a position.
//
// Tiles come only from Vigil's loopback tile server (`bridge.tileUrl`); with none, the
// "itemsoverlay" plugin draws nothing and a labelled coordinate grid stands in, saying so.
// Markers come from the Python MarkerModel (`markers`); clicks go back through `bridge`.
import QtQuick
import QtLocation
import QtPositioning

Rectangle {
    id: root
    color: "#0d1014"
    // Where the map looks, for the panel to read back (and the tests to check).
    readonly property var mapCentre: view.map.center
    readonly property real mapZoom: view.map.zoomLevel

    readonly property var kindColours: ({
        "caller": "#e8590c", "bodycam": "#1c7ed6", "officer": "#7048e8",
        "drone": "#2f9e44", "camera": "#868e96"
    })

    Plugin {
        id: tilesPlugin
        name: bridge.tileUrl !== "" ? "osm" : "itemsoverlay"
        PluginParameter { name: "osm.mapping.custom.host"; value: bridge.tileUrl }
        // Never ask qt.io which providers to use, and keep the plugin's cache in the base dir.
        PluginParameter { name: "osm.mapping.providersrepository.disabled"; value: true }
        PluginParameter { name: "osm.mapping.cache.directory"; value: bridge.cacheDir }
        PluginParameter { name: "osm.mapping.custom.datacopyright"; value: bridge.attribution }
        PluginParameter { name: "osm.useragent"; value: "Vigil" }
    }

    MapView {
        id: view
        objectName: "mapView"
        anchors.fill: parent
        map.plugin: tilesPlugin
        map.color: "#1a1f26"
        map.center: QtPositioning.coordinate(bridge.startLat, bridge.startLon)
        map.zoomLevel: bridge.startZoom
        // The custom URL type is the osm plugin's last; choose it as the map is made, so
        // not one tile is asked of the plugin's built-in public providers.
        map.activeMapType: map.supportedMapTypes[map.supportedMapTypes.length - 1]
        map.copyrightsVisible: bridge.tileUrl !== ""

        Connections {
            target: bridge
            function onCentreRequested(coordinate) { view.map.center = coordinate }
            function onFitRequested(north, west, south, east) {
                view.map.fitViewportToGeoShape(
                    QtPositioning.rectangle(QtPositioning.coordinate(north, west),
                                            QtPositioning.coordinate(south, east)), 48)
            }
        }

        TapHandler {
            // A tap on open map: the point to measure distance and bearing from.
            onTapped: (eventPoint) => bridge.mapClicked(
                view.map.toCoordinate(eventPoint.position, false))
        }

        // Trails under everything else.
        MapItemView {
            parent: view.map
            z: 1
            model: markers
            delegate: MapPolyline {
                required property var trail
                required property string kind
                path: trail
                line.width: 3
                line.color: root.kindColours[kind]
                opacity: 0.55
            }
        }

        // Callers' GPS accuracy and drones' footprints.
        MapItemView {
            parent: view.map
            z: 2
            model: markers
            delegate: MapCircle {
                required property var position
                required property real accuracy
                required property string kind
                required property real fade
                visible: accuracy > 0 && kind !== "drone"
                center: position
                radius: Math.max(accuracy, 0)
                color: Qt.rgba(1, 1, 1, 0.10 * fade)
                border.color: root.kindColours[kind]
                border.width: 1
            }
        }
        MapItemView {
            parent: view.map
            z: 2
            model: markers
            delegate: MapPolygon {
                required property var footprint
                path: footprint
                visible: footprint.length === 4
                color: "#332f9e44"
                border.color: "#8ce99a"
                border.width: 2
            }
        }
        MapItemView {
            parent: view.map
            z: 3
            model: markers
            delegate: MapQuickItem {
                required property var frameCentre
                visible: frameCentre.isValid
                coordinate: frameCentre
                anchorPoint.x: 9
                anchorPoint.y: 9
                sourceItem: Item {
                    width: 18; height: 18
                    Rectangle { x: 8; width: 2; height: 18; color: "#8ce99a" }
                    Rectangle { y: 8; width: 18; height: 2; color: "#8ce99a" }
                }
            }
        }

        // The markers themselves, on top.
        MapItemView {
            parent: view.map
            z: 10
            model: markers
            delegate: MapQuickItem {
                id: marker
                required property string name
                required property string kind
                required property var position
                required property real accuracy
                required property string fixAge
                required property real fade
                required property real heading
                required property bool selected
                required property bool live
                objectName: "marker:" + name
                coordinate: position
                anchorPoint.x: 14
                anchorPoint.y: 14
                z: selected ? 11 : 10
                sourceItem: Item {
                    width: 28 + label.width
                    height: 28
                    opacity: marker.fade
                    // Selection ring.
                    Rectangle {
                        visible: marker.selected
                        x: 0; y: 0; width: 28; height: 28; radius: 14
                        color: "transparent"; border.color: "white"; border.width: 3
                    }
                    // A drone's nose: a wedge pointing along its heading.
                    Item {
                        visible: marker.heading >= 0 && marker.kind === "drone"
                        x: 0; y: 0; width: 28; height: 28
                        rotation: marker.heading
                        Rectangle {
                            x: 11; y: -6; width: 6; height: 14; radius: 2
                            color: "#b2f2bb"
                        }
                    }
                    // The dot: centred exactly on the position.
                    Rectangle {
                        objectName: "dot"
                        x: 7; y: 7; width: 14; height: 14
                        radius: marker.kind === "camera" ? 2 : 7
                        color: root.kindColours[marker.kind]
                        border.color: marker.live ? "#0b0d10" : "#ff8787"
                        border.width: 2
                    }
                    Rectangle {
                        id: label
                        x: 30; y: 3
                        width: labelText.implicitWidth + 10
                        height: 22; radius: 4
                        color: "#e60b0d10"
                        border.color: root.kindColours[marker.kind]
                        Text {
                            id: labelText
                            anchors.centerIn: parent
                            color: "#e6e9ee"
                            font.pixelSize: 12
                            text: marker.kind === "caller"
                                ? marker.name + "  ·  " + (marker.accuracy > 0
                                    ? "±" + Math.round(marker.accuracy) + " m  ·  " : "")
                                    + marker.fixAge
                                : marker.name
                        }
                    }
                    TapHandler { onTapped: bridge.markerClicked(marker.name) }
                }
            }
        }

        // Distance and bearing from a tapped point to the selected feed.
        MapPolyline {
            parent: view.map
            visible: bridge.measureFrom.isValid && bridge.measureTo.isValid
            z: 4
            path: [bridge.measureFrom, bridge.measureTo]
            line.width: 2
            line.color: "#ffd43b"
        }
        MapQuickItem {
            parent: view.map
            visible: bridge.measureFrom.isValid
            z: 12
            coordinate: bridge.measureFrom
            anchorPoint.x: 7
            anchorPoint.y: 7
            sourceItem: Rectangle {
                width: 14; height: 14; radius: 7
                color: "transparent"; border.color: "#ffd43b"; border.width: 3
            }
        }
    }

    // With no tiles: a grid of latitude and longitude so positions still read true.
    Canvas {
        id: grid
        objectName: "coordinateGrid"
        anchors.fill: parent
        visible: bridge.tileUrl === ""
        property var region: view.map.visibleRegion
        onRegionChanged: requestPaint()
        onWidthChanged: requestPaint()
        onHeightChanged: requestPaint()
        function niceStep(span) {
            const steps = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                           0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 45]
            for (const s of steps) if (span / s <= 8) return s
            return 90
        }
        onPaint: {
            const ctx = getContext("2d")
            ctx.reset()
            const nw = view.map.toCoordinate(Qt.point(0, 0), false)
            const se = view.map.toCoordinate(Qt.point(width, height), false)
            if (!nw.isValid || !se.isValid) return
            const latStep = niceStep(nw.latitude - se.latitude)
            const lonStep = niceStep(se.longitude - nw.longitude)
            const digits = Math.max(0, Math.ceil(-Math.log10(Math.min(latStep, lonStep))))
            ctx.strokeStyle = "#3a4350"
            ctx.fillStyle = "#9aa3ad"
            ctx.lineWidth = 1
            ctx.font = "11px sans-serif"
            for (let lat = Math.ceil(se.latitude / latStep) * latStep; lat <= nw.latitude;
                 lat += latStep) {
                const p = view.map.fromCoordinate(QtPositioning.coordinate(lat, nw.longitude), false)
                ctx.beginPath(); ctx.moveTo(0, p.y); ctx.lineTo(width, p.y); ctx.stroke()
                ctx.fillText(lat.toFixed(digits) + "°", 4, p.y - 3)
            }
            for (let lon = Math.ceil(nw.longitude / lonStep) * lonStep; lon <= se.longitude;
                 lon += lonStep) {
                const p = view.map.fromCoordinate(QtPositioning.coordinate(nw.latitude, lon), false)
                ctx.beginPath(); ctx.moveTo(p.x, 0); ctx.lineTo(p.x, height); ctx.stroke()
                ctx.fillText(lon.toFixed(digits) + "°", p.x + 3, height - 6)
            }
        }
    }

    // What the tiles are, or why there are none: never a blank panel with no word.
    Rectangle {
        objectName: "tileNote"
        visible: bridge.tileNote !== ""
        anchors { top: parent.top; left: parent.left; right: parent.right; margins: 8 }
        height: noteText.implicitHeight + 12
        radius: 4
        color: "#e61d2229"
        border.color: bridge.tileUrl === "" ? "#ffb319" : "#3a4350"
        Text {
            id: noteText
            anchors { fill: parent; margins: 6 }
            wrapMode: Text.Wrap
            color: "#e6e9ee"
            font.pixelSize: 12
            text: bridge.tileNote
        }
    }

    Rectangle {
        objectName: "measureLabel"
        visible: bridge.measureText !== ""
        anchors { bottom: parent.bottom; left: parent.left; margins: 8 }
        anchors.bottomMargin: 24
        width: measureText.implicitWidth + 14
        height: measureText.implicitHeight + 10
        radius: 4
        color: "#e60b0d10"
        border.color: "#ffd43b"
        Text {
            id: measureText
            anchors.centerIn: parent
            color: "#ffd43b"
            font.pixelSize: 13
            text: bridge.measureText
        }
    }
}
