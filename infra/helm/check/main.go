// Command helmcheck renders the memstream chart with Helm's own template engine and strictly decodes every
// rendered object into the Kubernetes API type of its kind (client-go's scheme, plus KEDA's types for
// ScaledObject and TriggerAuthentication). An unknown kind, an unknown or duplicated field, or a value of the
// wrong type fails the run. On success it prints the rendered objects as one JSON array, for the project's
// own checks (tests/unit/test_helm_chart.py).
//
//	helmcheck [-f values.yaml]... [-set key=value]... <chart-dir>
//
// Nothing is fetched: the chart has no dependencies and the schemes are compiled in.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/strvals"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// repeated collects a flag given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	var valueFiles, sets repeated
	flag.Var(&valueFiles, "f", "a values file (repeatable; later files win)")
	flag.Var(&sets, "set", "key=value (repeatable; wins over the files), as helm --set")
	releaseName := flag.String("name", "memstream", "release name")
	namespace := flag.String("namespace", "memstream", "release namespace")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: helmcheck [-f values.yaml]... [-set key=value]... <chart-dir>")
		os.Exit(2)
	}
	objects, err := run(flag.Arg(0), valueFiles, sets, *releaseName, *namespace)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helmcheck:", err)
		os.Exit(1)
	}
	out, err := json.Marshal(objects)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helmcheck:", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

func run(chartDir string, valueFiles, sets []string, releaseName, namespace string) ([]map[string]any, error) {
	chart, err := loader.Load(chartDir)
	if err != nil {
		return nil, fmt.Errorf("loading the chart: %w", err)
	}
	overrides := map[string]any{}
	for _, file := range valueFiles {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		layer := map[string]any{}
		if err := yaml.Unmarshal(data, &layer); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		overrides = chartutil.MergeTables(layer, overrides)
	}
	for _, set := range sets {
		if err := strvals.ParseInto(set, overrides); err != nil {
			return nil, fmt.Errorf("-set %s: %w", set, err)
		}
	}
	// What `helm template` does without a cluster: default capabilities, an install of a new release. The
	// chart's values.schema.json is checked here (ToRenderValues validates the merged values against it).
	options := chartutil.ReleaseOptions{Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true}
	values, err := chartutil.ToRenderValues(chart, overrides, options, chartutil.DefaultCapabilities.Copy())
	if err != nil {
		return nil, err
	}
	rendered, err := engine.Render(chart, values)
	if err != nil {
		return nil, err
	}
	decoder := strictDecoder()
	names := make([]string, 0, len(rendered))
	for name := range rendered {
		names = append(names, name)
	}
	sort.Strings(names)
	var objects []map[string]any
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") || strings.TrimSpace(rendered[name]) == "" {
			continue // NOTES.txt, helpers, templates switched off by values
		}
		docs := releaseutil.SplitManifests(rendered[name])
		keys := make([]string, 0, len(docs))
		for key := range docs {
			keys = append(keys, key)
		}
		sort.Sort(releaseutil.BySplitManifestsOrder(keys))
		for _, key := range keys {
			doc := docs[key]
			if strings.TrimSpace(doc) == "" {
				continue
			}
			if _, _, err := decoder.Decode([]byte(doc), nil, nil); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			object := map[string]any{}
			if err := yaml.Unmarshal([]byte(doc), &object); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			object["__template"] = name // where a project check's finding comes from
			objects = append(objects, object)
		}
	}
	return objects, nil
}

// strictDecoder knows the built-in kinds and KEDA's, and refuses unknown and duplicated fields.
func strictDecoder() runtime.Decoder {
	known := runtime.NewScheme()
	must(scheme.AddToScheme(known))
	must(kedav1alpha1.AddToScheme(known))
	return serializer.NewCodecFactory(known, serializer.EnableStrict).UniversalDeserializer()
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
