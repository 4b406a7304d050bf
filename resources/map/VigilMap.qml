// The map panel's face: Qt's own map with a marker for every feed that has a position.
//
// Tiles come only from Vigil's loopback tile server (`bridge.tileUrl`); with none, the
// "itemsoverlay" plugin draws nothing and a labelled coordinate grid stands in, saying so.
// Markers come from the Python MarkerModel (`markers`); clicks go back through `bridge`.
// Labels are placed by Python (widgets/map/labels.py) so that none hides another: the map
// reports where it looks on every move (`report`), and draws `bridge.labels` on top.
import QtQuick
import QtLocation
import QtPositioning

Rectangle {
    id: root
    color: "#0d1014"
    // Where the map looks, for the panel to read back (and the tests to check).
    readonly property var mapCentre: view.map.center
    readonly property real mapZoom: view.map.zoomLevel

    // An accuracy ring is never drawn smaller than this (pixels): just outside the dot and
    // the selection ring, so a 10 m fix still reads as a ring when zoomed out. Drawn bigger
    // than the fix is good, it says "somewhere inside", never more accurate than it is.
    readonly property real minRing: 17

    function metresPerPixel(lat) {
        // Web Mercator with 256-pixel tiles, as the map lays them out.
        return 40075016.686 * Math.cos(lat * Math.PI / 180) / (256 * Math.pow(2, view.map.zoomLevel))
    }

    // Where the map looks, for Python to place the labels and size the scale bar.
    function report() {
        const c = view.map.center
        bridge.viewChanged({
            lat: c.latitude, lon: c.longitude, zoom: view.map.zoomLevel,
            width: view.width, height: view.height,
            clear_top: tileNote.visible ? tileNote.y + tileNote.height + 2 : 0,
            corner_w: corner.x + corner.width + 4, corner_h: root.height - corner.y + 4
        })
    }
    onWidthChanged: report()
    onHeightChanged: report()
    Component.onCompleted: report()

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
            target: view.map
            function onCenterChanged() { root.report() }
            function onZoomLevelChanged() { root.report() }
        }
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

        // Callers' GPS accuracy: a ring the fix lies within, in ground metres while that is
        // bigger than `minRing` pixels, else `minRing` (unfilled: only "within this").
        MapItemView {
            parent: view.map
            z: 2
            model: markers
            delegate: MapQuickItem {
                id: ring
                required property string name
                required property var position
                required property real accuracy
                required property string kind
                required property real fade
                readonly property real trueRadius: accuracy / root.metresPerPixel(position.latitude)
                readonly property real drawnRadius: Math.max(trueRadius, root.minRing)
                readonly property bool atLeast: trueRadius < root.minRing
                objectName: "accuracy:" + name
                visible: accuracy > 0 && kind !== "drone"
                coordinate: position
                anchorPoint.x: drawnRadius
                anchorPoint.y: drawnRadius
                sourceItem: Rectangle {
                    width: 2 * ring.drawnRadius
                    height: width
                    radius: width / 2
                    color: ring.atLeast ? "transparent" : Qt.rgba(1, 1, 1, 0.10 * ring.fade)
                    border.color: root.kindColours[ring.kind]
                    border.width: 2
                    opacity: ring.atLeast ? 0.85 * ring.fade : ring.fade
                }
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
                    width: 28
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
                if (p.x + 3 > corner.x + corner.width + 4)  // not under the scale bar
                    ctx.fillText(lon.toFixed(digits) + "°", p.x + 3, height - 6)
            }
        }
    }

    // Every marker's label, placed by Python clear of the others, the dots and the edges;
    // where they could not all fit, a count stands for a group ("3 body cams").
    Item {
        id: labelLayer
        objectName: "labels"
        anchors.fill: parent
        // Leader lines first, under every label: from a dot to a label that stands off.
        Repeater {
            model: bridge.labels
            delegate: Rectangle {
                required property var modelData
                readonly property var line: modelData.leader
                visible: line.length === 4
                x: visible ? line[0] : 0
                y: visible ? line[1] - 1 : 0
                width: visible ? Math.hypot(line[2] - line[0], line[3] - line[1]) : 0
                height: 2
                transformOrigin: Item.Left
                rotation: visible ? Math.atan2(line[3] - line[1], line[2] - line[0]) * 180 / Math.PI : 0
                opacity: modelData.fade
                color: modelData.kind !== "" ? root.kindColours[modelData.kind] : "#adb5bd"
            }
        }
        Repeater {
            model: bridge.labels
            delegate: Rectangle {
                required property var modelData
                required property int index
                objectName: "label:" + (modelData.key !== "" ? modelData.key : modelData.text)
                x: modelData.x
                y: modelData.y
                width: modelData.w
                height: modelData.h
                radius: 4
                opacity: modelData.fade
                color: "#eb0b0d10"
                border.color: modelData.selected ? "white"
                    : modelData.kind !== "" ? root.kindColours[modelData.kind] : "#adb5bd"
                border.width: modelData.selected ? 2 : 1
                Text {
                    anchors.centerIn: parent
                    color: "#e6e9ee"
                    font.pixelSize: 13
                    text: modelData.text
                }
                MouseArea {
                    anchors.fill: parent
                    cursorShape: Qt.PointingHandCursor
                    onClicked: bridge.labelClicked(index)
                }
            }
        }
    }

    // What the tiles are, or why there are none: never a blank panel with no word.
    Rectangle {
        id: tileNote
        objectName: "tileNote"
        visible: bridge.tileNote !== ""
        anchors { top: parent.top; left: parent.left; right: parent.right; margins: 8 }
        height: noteText.implicitHeight + 12
        radius: 4
        color: "#e61d2229"
        border.color: bridge.tileUrl === "" ? "#ffb319" : "#3a4350"
        onHeightChanged: root.report()
        onVisibleChanged: root.report()
        Text {
            id: noteText
            anchors { fill: parent; margins: 6 }
            wrapMode: Text.Wrap
            color: "#e6e9ee"
            font.pixelSize: 12
            text: bridge.tileNote
        }
    }

    // Bottom left: the measurement, when there is one, above the scale bar. Clear of the
    // tiles' copyright line, which Qt writes along the bottom edge.
    Column {
        id: corner
        anchors { bottom: parent.bottom; left: parent.left; leftMargin: 8 }
        anchors.bottomMargin: bridge.tileUrl !== "" ? 24 : 8
        spacing: 6
        onWidthChanged: root.report()
        onHeightChanged: root.report()

        Rectangle {
            objectName: "measureLabel"
            visible: bridge.measureText !== ""
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

        // A round length at the map's scale where it looks (Web Mercator stretches it
        // north and south; over a town the difference is a hair).
        Rectangle {
            objectName: "scale"
            visible: bridge.scaleWidth > 0
            width: bridge.scaleWidth + scaleText.implicitWidth + 26
            height: 24
            radius: 4
            color: "#d90b0d10"
            Item {
                id: bar
                objectName: "scaleBar"
                x: 8
                y: 6
                width: bridge.scaleWidth
                height: 12
                Rectangle { x: 0; y: 10; width: parent.width; height: 2; color: "#e6e9ee" }
                Rectangle { x: 0; y: 2; width: 2; height: 10; color: "#e6e9ee" }
                Rectangle { x: parent.width - 2; y: 2; width: 2; height: 10; color: "#e6e9ee" }
            }
            Text {
                id: scaleText
                objectName: "scaleText"
                anchors { left: bar.right; leftMargin: 8; verticalCenter: parent.verticalCenter }
                color: "#e6e9ee"
                font.pixelSize: 13
                text: bridge.scaleText
            }
        }
    }
}
